package main

import (
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/state/keyring"
)

// keyInfo is what the keys commands print with --output json.
type keyInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
}

func infoOf(k keyring.Key) keyInfo {
	return keyInfo{Name: k.Name, Address: k.Address.String(), PubKey: hex.EncodeToString(k.PubKey())}
}

func (c *cli) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the account keys in <home>/keys",
		Long: `Manage the secp256k1 account keys kept in <home>/keys, one unencrypted JSON
file per key (mode 0600). This keyring is meant for devnets.`,
	}
	cmd.AddCommand(c.keysAddCmd(), c.keysListCmd(), c.keysShowCmd())
	return cmd
}

func (c *cli) keysAddCmd() *cobra.Command {
	return c.keyCmd("add", "Generate a key and save it as NAME",
		`Generate a secp256k1 key, save it as <home>/keys/NAME.json and print its
name, bech32 address and hex public key (never the private key). NAME is 1
to 64 letters, digits, '-', '_' or '.', not starting with '.'; an existing
name is refused.`, keyring.Keyring.Add)
}

func (c *cli) keysListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keys: name and address",
		Long: `List the keys of the keyring sorted by name, one "NAME<tab>ADDRESS" line
each (with --output json, an array of {name, address, pub_key}).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kr, asJSON, err := c.keyringOutput(cmd)
			if err != nil {
				return err
			}
			keys, err := kr.List()
			if err != nil {
				return fmt.Errorf("keys list: %w", err)
			}
			if asJSON {
				infos := make([]keyInfo, 0, len(keys))
				for _, k := range keys {
					infos = append(infos, infoOf(k))
				}
				return writeJSON(cmd.OutOrStdout(), infos)
			}
			for _, k := range keys {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", k.Name, k.Address)
			}
			return nil
		},
	}
	addOutputFlag(cmd)
	return cmd
}

func (c *cli) keysShowCmd() *cobra.Command {
	return c.keyCmd("show", "Print a key's bech32 address and hex public key", "", keyring.Keyring.Get)
}

// keyCmd is the keys command verb NAME, which prints the key op returns
// for NAME in the home's keyring.
func (c *cli) keyCmd(verb, short, long string, op func(keyring.Keyring, string) (keyring.Key, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Long:  long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, asJSON, err := c.keyringOutput(cmd)
			if err != nil {
				return err
			}
			k, err := op(kr, args[0])
			if err != nil {
				return fmt.Errorf("keys %s: %w", verb, err)
			}
			return printKey(cmd, k, asJSON)
		},
	}
	addOutputFlag(cmd)
	return cmd
}

// keyringOutput returns the home's keyring and whether --output is json.
func (c *cli) keyringOutput(cmd *cobra.Command) (keyring.Keyring, bool, error) {
	home, err := c.home(cmd)
	if err != nil {
		return keyring.Keyring{}, false, err
	}
	asJSON, err := outputJSON(cmd)
	return validator.Keyring(home), asJSON, err
}

// printKey prints name, address and public key (never the private key).
func printKey(cmd *cobra.Command, k keyring.Key, asJSON bool) error {
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), infoOf(k))
	}
	i := infoOf(k)
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "name: %s\naddress: %s\npub_key: %s\n", i.Name, i.Address, i.PubKey)
	return err
}

package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/state"
)

func (c *cli) txBlobstreamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blobstream",
		Short: "Blobstream transactions of a validator",
	}
	cmd.AddCommand(c.txRegisterEVMAddressCmd())
	return cmd
}

func (c *cli) txRegisterEVMAddressCmd() *cobra.Command {
	var o txOptions
	var keyFile string
	cmd := &cobra.Command{
		Use:   "register-evm-address --from NAME [--key-file PATH]",
		Short: "Register the EVM address a validator signs Blobstream attestations with",
		Long: `Register, for the validator of the home (--home, a core home: its
config/priv_validator_key.json), the EVM address of a blobstream key
(secp256k1): the one in --key-file, by default the home's
config/blobstream_key.json. The validator's consensus key signs the chain ID
and the address, the blobstream key signs the chain ID and the validator's
key (core/tx's MsgRegisterEVMAddress, for the chain ID of the home's
genesis); the key --from pays the fee. Prints the block height, the
transaction hash and the registered address.

The address takes effect at once: the chain makes a new valset with it,
which signs the attestations after it. The validator signs with the key of its home's
config/blobstream_key.json, loaded when it starts: after registering
another key, put it there and restart the validator, or its signatures are
refused until then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.home(cmd)
			if err != nil {
				return err
			}
			msg, err := evmRegistration(home, keyFile)
			if err != nil {
				return fmt.Errorf("tx blobstream register-evm-address: %w", err)
			}
			res, err := c.submit(cmd, o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.RegisterEVMAddress(ctx, msg, cfg)
			})
			if err != nil {
				return fmt.Errorf("tx blobstream register-evm-address: %w", err)
			}
			res.EVMAddress = msg.EVMAddress.String()
			return printTxResult(cmd, res)
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&keyFile, "key-file", "", "blobstream key file (default: <home>/"+validator.BlobstreamKeyFile+")")
	return cmd
}

// evmRegistration signs the registration of keyFile's address (the home's
// blobstream key when empty) for home's validator, on the chain of home's
// genesis.
func evmRegistration(home, keyFile string) (*tx.MsgRegisterEVMAddress, error) {
	conf, err := validator.LoadConfig(home)
	if err != nil {
		return nil, fmt.Errorf("%s is not a validator's home (see mesh-node core init): %w", home, err)
	}
	data, err := validator.ReadGenesisFile(conf.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("%s is not a validator's home (see mesh-node core init): %w", home, err)
	}
	gen, _, err := validator.ParseGenesisDoc(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a validator's home (see mesh-node core init): %w", home, err)
	}
	pv, err := validator.LoadValidatorKey(conf.PrivValidatorKeyFile())
	if err != nil {
		return nil, err
	}
	if keyFile == "" {
		keyFile = filepath.Join(home, validator.BlobstreamKeyFile)
	}
	evmKey, err := validator.LoadBlobstreamKeyFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	return tx.NewMsgRegisterEVMAddress(gen.ChainID, pv.PubKey.Bytes(), pv.PrivKey.Sign, evmKey)
}

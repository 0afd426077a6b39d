package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/files"
	mdag "github.com/ipfs/boxo/ipld/merkledag"
	unixfile "github.com/ipfs/boxo/ipld/unixfs/file"
	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/dataset/fetch"
	"github.com/datamesh/mesh-node/share"
)

// locateFlags are the flags that say where a dataset's manifest is.
type locateFlags struct {
	height uint64
	nsHex  string
}

func (l *locateFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Uint64Var(&l.height, "height", 0, "read the manifest from the blobs at this height (the manifest_height dataset put printed; needed on a light node, which keeps no dataset index)")
	f.StringVar(&l.nsHex, "namespace", "", "with --height: the dataset's namespace, hex (default: derived from the root CID)")
}

// datasetTarget is a dataset command's parsed CID and connection.
type datasetTarget struct {
	c   cid.Cid
	cl  *client.Client
	f   *fetch.Fetcher
	ns  *share.Namespace
	cmd string
}

// openDataset parses the CID and --namespace of the command name and
// connects to the node.
func (c *cli) openDataset(cmd *cobra.Command, name, arg string, o clientFlags, l locateFlags) (*datasetTarget, error) {
	if o.timeout <= 0 {
		return nil, fmt.Errorf("dataset %s: --timeout %s: must be positive", name, o.timeout)
	}
	id, err := cid.Decode(arg)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: CID %q: %w", name, arg, err)
	}
	t := &datasetTarget{c: id, cmd: name}
	if l.nsHex != "" {
		if l.height == 0 {
			return nil, fmt.Errorf("dataset %s: --namespace needs --height (the index knows the namespace)", name)
		}
		ns, err := parseNamespace("--namespace", l.nsHex)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", name, err)
		}
		t.ns = &ns
	}
	url, token, err := c.apiTarget(cmd, o)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	t.cl, err = client.New(cmd.Context(), url, token)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: connect to %s: %w", name, url, err)
	}
	if t.f, err = fetch.New(t.cl, fetch.Options{Timeout: o.timeout}); err != nil {
		t.cl.Close()
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return t, nil
}

// withManifest checks --output, connects (openDataset), finds the
// manifest of arg and calls run with them.
func (c *cli) withManifest(cmd *cobra.Command, name, arg string, o clientFlags, l locateFlags, run func(*datasetTarget, fetch.Located) error) error {
	if _, err := outputJSON(cmd); err != nil {
		return fmt.Errorf("dataset %s: %w", name, err)
	}
	t, err := c.openDataset(cmd, name, arg, o, l)
	if err != nil {
		return err
	}
	defer t.cl.Close()
	loc, err := t.locate(cmd.Context(), l)
	if err != nil {
		return err
	}
	return run(t, loc)
}

// getResult is what dataset get prints: a verifyResult, with the root
// line named "root".
type getResult struct {
	verifyResult
	Fetched int    `json:"fetched"`
	Cached  int    `json:"cached"`
	Wrote   string `json:"wrote"`
}

func (c *cli) datasetGetCmd() *cobra.Command {
	var (
		o     clientFlags
		l     locateFlags
		out   string
		car   bool
		cache string
	)
	cmd := &cobra.Command{
		Use:   "get CID",
		Short: "Fetch a dataset by its root CID and write it as a file, a directory or a CAR",
		Long: `Fetch the dataset of root CID: find its manifest (dataset.GetManifest on a
bridge or full node; on a light node, which keeps no dataset index, pass
--height, the manifest_height dataset put printed, and --namespace if the
put had one), read every part with blob.Get (a light node verifies each
blob against the headers it sampled), recompute each blob's commitment,
decode each part (every block's hash checked) and check that the DAG from
the root is complete and matches the manifest's counts. Then write the
file or directory tree to -o PATH (default: ./<CID>), or with --car the
CAR of the DAG (the bytes of ipfs dag export; default ./<CID>.car).
PATH must not exist; the output is written to PATH.part and renamed.

Resumable: each part fetched is kept in a cache directory
(--cache, default <home>/` + getCacheDirName + `, the home found as for dataset put,
under the manifest's CID) and a get run again after an interruption
fetches only the parts not there; the cache is removed once the get is
written. The parts are checked one at a time and the output written from
the cached parts' files: memory use is bounded by the part size, not the
dataset's, and the cache takes the dataset's CAR size on disk.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := c.openDataset(cmd, "get", args[0], o, l)
			if err != nil {
				return err
			}
			defer t.cl.Close()
			if out == "" {
				out = t.c.String()
				if car {
					out += ".car"
				}
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("dataset get: %s exists: remove it or pass another -o", out)
			}
			loc, err := t.locate(ctx, l)
			if err != nil {
				return err
			}
			if cache == "" {
				if cache, err = c.defaultCacheDir(cmd, getCacheDirName); err != nil {
					return fmt.Errorf("dataset get: %w", err)
				}
			}
			f, err := fetch.New(t.cl, fetch.Options{Timeout: o.timeout, CacheDir: cache, AfterFetch: c.afterPartFetched})
			if err != nil {
				return fmt.Errorf("dataset get: %w", err)
			}
			got, err := f.FetchToDisk(ctx, loc)
			if err != nil {
				return fmt.Errorf("dataset get: %w (fetched parts are kept in %s: run the same get again to resume)", err, f.CachePath(loc))
			}
			if err := writeDataset(ctx, out, got, car); err != nil {
				return fmt.Errorf("dataset get: %w", err)
			}
			if err := os.RemoveAll(f.CachePath(loc)); err != nil {
				return fmt.Errorf("dataset get: wrote %s, but: remove the cache: %w", out, err)
			}
			res := getResult{verifyResult: newVerifyResult(loc), Fetched: got.Fetched, Cached: got.Cached, Wrote: out}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%sfetched: %d\ncached: %d\nwrote: %s\n", res.text("root"), res.Fetched, res.Cached, res.Wrote)
			return err
		},
	}
	o.registerConn(cmd)
	l.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "where to write the file, directory or CAR (default: ./<CID>, ./<CID>.car with --car)")
	f.BoolVar(&car, "car", false, "write the CAR of the DAG (ipfs dag export's bytes) instead of the file or directory")
	f.StringVar(&cache, "cache", "", "directory of the fetched parts' caches (default: <home>/"+getCacheDirName+")")
	return cmd
}

// defaultCacheDir is dir in the home of the local node the command calls,
// else in the user's cache directory.
func (c *cli) defaultCacheDir(cmd *cobra.Command, dir string) (string, error) {
	home, err := c.localNodeHome(cmd)
	if err != nil {
		return "", err
	}
	if home != "" {
		return filepath.Join(home, dir), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no home for %s (pass it or --home): %w", dir, err)
	}
	return filepath.Join(cache, "mesh-node", dir), nil
}

// writeDataset writes the fetched dataset to out, through out.part,
// reading its blocks from the parts on disk.
func writeDataset(ctx context.Context, out string, got *fetch.Stored, car bool) error {
	tmp := out + ".part"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if car {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		err = got.WriteCAR(w)
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	} else {
		dserv := mdag.NewDAGService(blockservice.New(got.Blockstore(), nil))
		root := got.Manifest.Root
		nd, err := dserv.Get(ctx, root)
		if err != nil {
			return err
		}
		node, err := unixfile.NewUnixfsFile(ctx, dserv, nd)
		if err != nil {
			return fmt.Errorf("read %s as UnixFS: %w", root, err)
		}
		err = files.WriteTo(node, tmp)
		if cerr := node.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
	}
	return os.Rename(tmp, out)
}

// statResult is what dataset stat prints, and the start of what dataset
// put prints.
type statResult struct {
	Root      string        `json:"root"`
	Namespace string        `json:"namespace"` // hex
	Size      uint64        `json:"size"`
	Blocks    uint64        `json:"blocks"`
	Parts     []putBlobJSON `json:"parts"`
	Manifest  putManifest   `json:"manifest"`
}

func (c *cli) datasetStatCmd() *cobra.Command {
	var (
		o clientFlags
		l locateFlags
	)
	cmd := &cobra.Command{
		Use:   "stat CID",
		Short: "Print a dataset's manifest: root, size, blocks, parts",
		Long: `Print the manifest of the dataset of root CID (or of the manifest CID): its
root, namespace, size (bytes of block data), blocks, the manifest's CID,
height and commitment, and each part's height and commitment (base64). The
manifest is found as dataset get finds it (--height on a light node).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withManifest(cmd, "stat", args[0], o, l, func(_ *datasetTarget, loc fetch.Located) error {
				return printStat(cmd, loc)
			})
		},
	}
	o.register(cmd)
	l.register(cmd)
	return cmd
}

// printStat prints dataset stat's result of loc.
func printStat(cmd *cobra.Command, loc fetch.Located) error {
	m := loc.Manifest
	res := statResult{Root: m.Root.String(), Namespace: loc.Namespace.String(), Size: m.Size, Blocks: m.Blocks,
		Manifest: putManifest{CID: loc.CID.String(), Height: loc.Height, Commitment: loc.Commitment}}
	var b strings.Builder
	fmt.Fprintf(&b, "root: %s\nnamespace: %s\nsize: %d\nblocks: %d\nmanifest: %s\nmanifest_height: %d\nmanifest_commitment: %s\nparts: %d\n",
		res.Root, res.Namespace, res.Size, res.Blocks, res.Manifest.CID, loc.Height, base64.StdEncoding.EncodeToString(loc.Commitment), len(m.Parts))
	for i, p := range m.Parts {
		res.Parts = append(res.Parts, putBlobJSON{Height: p.Height, Commitment: p.Commitment})
		fmt.Fprintf(&b, "part %d: %d %s\n", i, p.Height, base64.StdEncoding.EncodeToString(p.Commitment))
	}
	return printResult(cmd, res, b.String())
}

func (c *cli) datasetLsCmd() *cobra.Command {
	var (
		o     clientFlags
		from  uint64
		limit int
	)
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the datasets a node has indexed (dataset.List)",
		Long: `List the manifests a bridge or full node has indexed from height --from on,
at most --limit (up to 1000), by height: one line each, the manifest's
height, the dataset's root CID, size, blocks, parts and manifest CID. A
page ends on a whole height: the next starts at the last height + 1. A
light node keeps no dataset index and says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := outputJSON(cmd); err != nil {
				return fmt.Errorf("dataset ls: %w", err)
			}
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("dataset ls: %w", err)
			}
			defer done()
			list, err := cl.Dataset.List(ctx, from, limit)
			if err != nil {
				return fmt.Errorf("dataset ls: %w", err)
			}
			if list == nil {
				list = []*api.DatasetManifest{}
			}
			var b strings.Builder
			for _, m := range list {
				fmt.Fprintf(&b, "%d %s size=%d blocks=%d parts=%d manifest=%s\n", m.Location.Height, m.Root, m.Size, m.Blocks, len(m.Parts), m.CID)
			}
			return printResult(cmd, list, b.String())
		},
	}
	o.register(cmd)
	cmd.Flags().Uint64Var(&from, "from", 1, "first height")
	cmd.Flags().IntVar(&limit, "limit", 100, "most manifests to list (1 to 1000)")
	return cmd
}

// verifyResult is what dataset verify prints.
type verifyResult struct {
	Root     string `json:"root"`
	Manifest string `json:"manifest"`
	Size     uint64 `json:"size"`
	Blocks   uint64 `json:"blocks"`
	Parts    int    `json:"parts"`
}

func newVerifyResult(loc fetch.Located) verifyResult {
	m := loc.Manifest
	return verifyResult{Root: m.Root.String(), Manifest: loc.CID.String(), Size: m.Size, Blocks: m.Blocks, Parts: len(m.Parts)}
}

// text is r as lines "name: value", the root's named rootName.
func (r verifyResult) text(rootName string) string {
	return fmt.Sprintf("%s: %s\nmanifest: %s\nsize: %d\nblocks: %d\nparts: %d\n", rootName, r.Root, r.Manifest, r.Size, r.Blocks, r.Parts)
}

func (c *cli) datasetVerifyCmd() *cobra.Command {
	var (
		o clientFlags
		l locateFlags
	)
	cmd := &cobra.Command{
		Use:   "verify CID",
		Short: "Check that every part of a dataset is on chain and the DAG is whole",
		Long: `Fetch every part of the dataset of root CID as dataset get does, from the
node and never from a cache (blob.Get: on a light node, verified against
the headers it sampled), and check each blob's commitment against the
manifest's, every block's hash, that no block is missing from the DAG
under the root and that the blocks and bytes are the manifest's counts.
Prints "verified: <root>" and the counts; fails naming every bad part
(each part is checked, a bad one does not stop the others).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withManifest(cmd, "verify", args[0], o, l, func(t *datasetTarget, loc fetch.Located) error {
				rep, err := t.f.Verify(cmd.Context(), loc)
				if err == nil {
					err = rep.Err()
				}
				if err != nil {
					return fmt.Errorf("dataset verify: %s: %w", loc.Manifest.Root, err)
				}
				res := newVerifyResult(loc)
				return printResult(cmd, res, res.text("verified"))
			})
		},
	}
	o.register(cmd)
	l.register(cmd)
	return cmd
}

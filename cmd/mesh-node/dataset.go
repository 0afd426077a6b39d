package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// maxDefaultPartSize caps the default part size (the chain's
// max_blob_size): a part's blob.Submit request, base64 in JSON (4/3 of the
// part), stays well under a node's default max_request_bytes (32 MiB), and
// each part in flight holds little memory in the client and the node. An
// explicit --max-part-size may go up to the chain's max_blob_size.
const maxDefaultPartSize = 8 << 20

// maxPutParallel bounds --parallel: each part in flight holds a blob and a
// transaction of up to max_blob_size in the client and the node.
const maxPutParallel = 16

func (c *cli) datasetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Publish and fetch files and directories as datasets (IPFS DAGs posted as blobs)",
		Long: `Publish a file or a directory as a dataset: an IPFS UnixFS DAG (the
unixfs-v1-2025 profile, so its root CID is the one ipfs add prints) packed
into CAR parts posted as blobs through a running node's blob.Submit, and a
manifest blob that lists them (put); fetch one back by its root CID with
blob reads, checked part by part (get, verify), and read its manifest
(stat) or a node's list of them (ls). See docs/datasets.md.`,
	}
	cmd.AddCommand(c.datasetPutCmd(), c.datasetGetCmd(), c.datasetStatCmd(), c.datasetLsCmd(), c.datasetVerifyCmd())
	return cmd
}

// putResult is what dataset put prints.
type putResult struct {
	statResult
	// Posted counts the blobs this run submitted, Reused those of the
	// journal found on chain.
	Posted  int    `json:"posted"`
	Reused  int    `json:"reused"`
	Shares  int    `json:"shares"`
	Bytes   int    `json:"bytes"`
	Journal string `json:"journal"`
}

type putBlobJSON struct {
	Height     uint64          `json:"height"`
	Commitment blob.Commitment `json:"commitment"`
}

type putManifest struct {
	CID        string          `json:"cid"`
	Height     uint64          `json:"height"`
	Commitment blob.Commitment `json:"commitment"`
}

func (c *cli) datasetPutCmd() *cobra.Command {
	var (
		o        clientFlags
		cfg      state.TxConfig
		nsHex    string
		parallel int
		maxPart  int
		jpath    string
	)
	cmd := &cobra.Command{
		Use:   "put FILE|DIR",
		Short: "Post a file or directory as a dataset and print its root CID",
		Long: `Import FILE or DIR as a UnixFS DAG (unixfs-v1-2025: the root CID ipfs add
prints), pack its blocks into CAR parts of at most --max-part-size bytes
(default: the chain's max_blob_size, read with state.Params, capped at
8 MiB; a larger --max-part-size than the chain's is refused), post each part as a blob with blob.Submit in the dataset's namespace
(--namespace, default derived from the root CID), up to --parallel at once,
then post the manifest that lists the parts' heights and commitments.
Prints "root: <cid>" first, then the namespace, the parts' heights, the
manifest's CID, height and commitment, the blobs posted now and reused from
the journal, and the shares and bytes of the dataset's blobs.

Each blob posted is recorded in a journal (--journal, default
<home>/` + journalDirName + `/<root>-<namespace>-<max-part-size>.jsonl, the home
being the local node's the command calls, else the user's cache directory
mesh-node/), synced before the put goes on, and each blob about to be
submitted is recorded pending beside it (<journal>.pending) first. Run again
after an interruption, the put reads every recorded blob back (blob.Get at
its height), looks for each pending blob in the namespace from the height
recorded before its Submit (and again once the head advanced 2 blocks), and
posts only what the node does not find. The node's API is found as the blob
commands find it; --timeout limits each call to it.

The DAG is imported into a scratch directory of one file per block
(import-* beside the journal, about the input's size), removed when the
put ends: memory use does not grow with the input's size.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if parallel < 1 || parallel > maxPutParallel {
				return fmt.Errorf("dataset put: --parallel %d: want 1 to %d", parallel, maxPutParallel)
			}
			explicitPart := cmd.Flags().Changed("max-part-size")
			if explicitPart && (maxPart < 1024 || maxPart > share.MaxBlobSize) {
				return fmt.Errorf("dataset put: --max-part-size %d: want 1024 to %d bytes (and at most the chain's max_blob_size)", maxPart, share.MaxBlobSize)
			}
			if o.timeout <= 0 {
				return fmt.Errorf("dataset put: --timeout %s: must be positive", o.timeout)
			}
			var override *share.Namespace
			if nsHex != "" {
				ns, err := parseNamespace("--namespace", nsHex)
				if err != nil {
					return fmt.Errorf("dataset put: %w", err)
				}
				override = &ns
			}
			if cmd.Flags().Changed("gas-price") {
				cfg.IsGasPriceSet = true
			}
			if _, err := outputJSON(cmd); err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			path := args[0]
			fi, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			if !fi.Mode().IsRegular() && !fi.IsDir() {
				return fmt.Errorf("dataset put: %s is %s: want a regular file or a directory", path, fi.Mode().Type())
			}

			// Everything is read and packed before anything is posted:
			// bad input fails here. The DAG goes to a scratch blockstore
			// on disk beside the journals, removed at the end (a resume
			// imports again: the DAG is the same).
			scratch := filepath.Dir(jpath)
			if jpath == "" {
				if scratch, err = c.defaultJournalDir(cmd); err != nil {
					return fmt.Errorf("dataset put: %w", err)
				}
			}
			if err := os.MkdirAll(scratch, 0o700); err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			tmpDir, err := os.MkdirTemp(scratch, "import-")
			if err != nil {
				return fmt.Errorf("dataset put: scratch blockstore: %w", err)
			}
			defer os.RemoveAll(tmpDir) // best effort: a leftover is scratch
			bs, err := dataset.NewDiskBlockstore(tmpDir)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			root, err := dataset.Import(ctx, bs, path)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			ns, err := dataset.NamespaceFor(root, override)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			if jpath != "" {
				// An explicit journal of another put fails before the node
				// is called.
				if err := checkJournalOf(jpath, root.String(), ns.String()); err != nil {
					return fmt.Errorf("dataset put: %w", err)
				}
			}

			url, token, err := c.apiTarget(cmd, o)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			cl, err := client.New(ctx, url, token)
			if err != nil {
				return fmt.Errorf("dataset put: connect to %s: %w", url, err)
			}
			defer cl.Close()
			pctx, cancel := context.WithTimeout(ctx, o.timeout)
			params, err := cl.State.Params(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("dataset put: the chain's parameters (state.Params): %w", err)
			}
			if maxPart, err = putPartSize(maxPart, explicitPart, params); err != nil {
				return err
			}
			sum, err := dataset.Pack(ctx, bs, root, maxPart, func(dataset.Part) error { return nil })
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}

			hdr := journalHeader{Root: root.String(), Namespace: ns.String(), MaxPartSize: maxPart, Parts: sum.Parts}
			if jpath == "" {
				if jpath, err = c.defaultJournalDir(cmd); err != nil {
					return fmt.Errorf("dataset put: %w", err)
				}
				jpath = filepath.Join(jpath, journalName(hdr))
			}
			journal, err := openJournal(jpath, hdr)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			defer journal.Close()

			p := &putter{
				blobs: cl.Blob, headers: cl.Header, ns: ns, cfg: &cfg, timeout: o.timeout, journal: journal,
				parallel: parallel, maxPart: maxPart, total: sum.Parts, afterRecord: c.afterPartRecorded,
				beforeSubmit: c.beforePartSubmit, afterSubmit: c.afterPartSubmit,
			}
			if err := p.catchUp(ctx); err != nil {
				return fmt.Errorf("%w (journal %s)", err, jpath)
			}
			if err := p.resolvePending(ctx); err != nil {
				return fmt.Errorf("%w (journal %s)", err, jpath)
			}
			out := cmd.OutOrStdout()
			asJSON, _ := outputJSON(cmd)
			tty := !asJSON && isTerminal(out)
			if tty {
				p.progress = func(done, total int) {
					fmt.Fprintf(out, "\rparts %d/%d (%d%%)", done, total, done*100/total)
				}
				p.progress(0, sum.Parts)
			}
			err = p.postParts(ctx, bs, root)
			if tty {
				fmt.Fprint(out, "\r\033[K")
			}
			if err != nil {
				return fmt.Errorf("%w (journal %s: run the same put again to resume)", err, jpath)
			}
			manifest, mcid, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, p.refs)
			if err != nil {
				return fmt.Errorf("dataset put: %w", err)
			}
			mref, err := p.postManifest(ctx, manifest)
			if err != nil {
				return fmt.Errorf("%w (journal %s: run the same put again to resume)", err, jpath)
			}
			res := putResult{
				statResult: statResult{Root: root.String(), Namespace: ns.String(), Size: sum.Size, Blocks: sum.Blocks,
					Manifest: putManifest{CID: mcid.String(), Height: mref.Height, Commitment: mref.Commitment}},
				Posted: p.posted, Reused: p.reused, Shares: p.shares, Bytes: p.bytes, Journal: jpath,
			}
			for _, r := range p.refs {
				res.Parts = append(res.Parts, putBlobJSON{Height: r.Height, Commitment: r.Commitment})
			}
			return printResult(cmd, res, putText(res))
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&nsHex, "namespace", "", "namespace to post in, hex (a version 0 ID of up to 10 bytes, or 29 bytes; default: derived from the root CID)")
	f.IntVar(&parallel, "parallel", 8, fmt.Sprintf("parts in flight at once (1 to %d)", maxPutParallel))
	f.IntVar(&maxPart, "max-part-size", 0, "largest part, in bytes, at most the chain's max_blob_size (default: the chain's max_blob_size, read with state.Params)")
	f.StringVar(&jpath, "journal", "", "journal file (default: <home>/"+journalDirName+"/<root>-<namespace>-<max-part-size>.jsonl)")
	f.Float64Var(&cfg.GasPrice, "gas-price", 0, "gas price to pay (default: the chain's minimum)")
	f.Float64Var(&cfg.MaxGasPrice, "max-gas-price", 0, "refuse to pay a gas price above this (0: no limit)")
	f.StringVar(&cfg.KeyName, "key-name", "", "the node's keyring key to sign with (default: its state.key_name)")
	return cmd
}

// putPartSize returns the part size of a put on a chain of params: maxPart
// if explicit (refused above the chain's max_blob_size, before anything is
// posted), else the chain's max_blob_size capped at maxDefaultPartSize.
func putPartSize(maxPart int, explicit bool, params tx.Params) (int, error) {
	if params.MaxBlobSize <= 0 {
		return 0, fmt.Errorf("dataset put: the chain's max_blob_size is %d", params.MaxBlobSize)
	}
	if !explicit {
		return min(params.MaxBlobSize, maxDefaultPartSize), nil
	}
	if maxPart > params.MaxBlobSize {
		return 0, fmt.Errorf("dataset put: --max-part-size %d is over the chain's max_blob_size, %d bytes: a part is one blob", maxPart, params.MaxBlobSize)
	}
	return maxPart, nil
}

// defaultJournalDir is where dataset put keeps its journals: in the home
// of the local node the command calls, else in the user's cache directory.
func (c *cli) defaultJournalDir(cmd *cobra.Command) (string, error) {
	return c.defaultCacheDir(cmd, journalDirName)
}

// putText is dataset put's text output; "root: <cid>" is its first line.
func putText(r putResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "root: %s\nnamespace: %s\nsize: %d\nblocks: %d\nparts: %d\n", r.Root, r.Namespace, r.Size, r.Blocks, len(r.Parts))
	heights := make([]string, len(r.Parts))
	for i, p := range r.Parts {
		heights[i] = fmt.Sprint(p.Height)
	}
	fmt.Fprintf(&b, "part_heights: %s\n", strings.Join(heights, " "))
	fmt.Fprintf(&b, "manifest: %s\nmanifest_height: %d\nmanifest_commitment: %s\n",
		r.Manifest.CID, r.Manifest.Height, base64.StdEncoding.EncodeToString(r.Manifest.Commitment))
	fmt.Fprintf(&b, "posted: %d\nreused: %d\nshares: %d\nbytes: %d\njournal: %s\n", r.Posted, r.Reused, r.Shares, r.Bytes, r.Journal)
	return b.String()
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

package ethereum_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	goethkzg "github.com/crate-crypto/go-eth-kzg"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/internal/devnetproc"
	"github.com/datamesh/mesh-node/interop/ethereum/precompile"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// rpcNode is one devnet node's JSON-RPC endpoint.
type rpcNode struct {
	url, token string
}

// call posts a JSON-RPC request to n and decodes its result into out (if
// not nil). It fails the test on a transport error or an RPC error.
func (n rpcNode) call(ctx context.Context, t *testing.T, out any, method string, params ...any) {
	t.Helper()
	if err := n.try(ctx, out, method, params...); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// try is call that returns the error.
func (n rpcNode) try(ctx context.Context, out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("HTTP %d, undecodable response %.200q: %v", resp.StatusCode, raw, err)
	}
	if r.Error != nil {
		return fmt.Errorf("RPC error %d: %s", r.Error.Code, r.Error.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Result, out)
}

// The answers of the KZG methods as an Ethereum tool sees them: 0x-hex
// strings where the issue says hex, base64 (Go's []byte) elsewhere. The hex
// is decoded with go-ethereum's hexutil, not mesh-node's types.
type (
	kzgInfo struct {
		Codec  string `json:"codec"`
		Chunks []struct {
			Commitment    []byte `json:"commitment"`
			VersionedHash string `json:"versioned_hash"`
			Proof         []byte `json:"proof"`
		} `json:"chunks"`
	}
	kzgOpening struct {
		Z               string `json:"z"`
		Y               string `json:"y"`
		Commitment      []byte `json:"commitment"`
		Proof           []byte `json:"proof"`
		VersionedHash   string `json:"versioned_hash"`
		PrecompileInput string `json:"precompile_input"`
	}
	kzgCells struct {
		Commitment []byte `json:"commitment"`
		Cells      []struct {
			Index uint64 `json:"index"`
			Cell  []byte `json:"cell"`
			Proof []byte `json:"proof"`
		} `json:"cells"`
	}
)

// hexBytes decodes a 0x-hex string of want bytes with go-ethereum's hexutil.
func hexBytes(t *testing.T, what, s string, want int) []byte {
	t.Helper()
	b, err := hexutil.Decode(s)
	if err != nil {
		t.Fatalf("%s %q: hexutil: %v", what, s, err)
	}
	if len(b) != want {
		t.Fatalf("%s is %d bytes, want %d", what, len(b), want)
	}
	return b
}

// randomBlobs makes one blob of ns of each size, of bytes drawn from rng.
func randomBlobs(t *testing.T, rng *rand.Rand, ns share.Namespace, sizes ...int) []*blob.Blob {
	t.Helper()
	var blobs []*blob.Blob
	for _, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		b, err := blob.New(ns, data)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	return blobs
}

// TestDevnetKZG is issue 15's devnet test. It starts `mesh-node devnet`
// (built from this checkout), submits blobs of 1 B, 130,044 B, 130,045 B
// and 1 MiB with {"kzg": true} through the light node's blob.Submit, and
// checks on the light node that:
//   - blob.GetKZG returns, for every chunk, the commitment go-eth-kzg
//     computes for the codec's output, the versioned hash go-ethereum
//     computes for it, and a blob proof go-ethereum's kzg4844 verifies;
//   - blob.OpenKZG at random points returns a precompile_input that
//     go-ethereum's point-evaluation precompile accepts, made of the
//     opening's own fields, and one flipped byte makes it refuse;
//   - blob.GetKZGCells returns cells and cell proofs that go-eth-kzg's
//     VerifyCellKZGProofBatch accepts against the commitment, and the
//     cells of the blob's own half are the encoded bytes.
func TestDevnetKZG(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	dn := devnetproc.Run(t, "../..")
	node := func(mode string) rpcNode {
		n, ok := dn.Info.Nodes[mode]
		if !ok {
			t.Fatalf("devnet.json has no %s node", mode)
		}
		return rpcNode{url: n.RPC, token: n.Token}
	}
	light, bridge := node("light"), node("bridge")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// go-eth-kzg itself, as an oracle apart from mesh-node's wrapper.
	oracle, err := goethkzg.NewContext4096Secure()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 7594))
	ns, err := share.NewV0Namespace([]byte("eth-kzg"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := randomBlobs(t, rng, ns, 1, kzg.MaxChunkSize, kzg.MaxChunkSize+1, 1<<20)
	var height uint64
	light.call(ctx, t, &height, "blob.Submit", blobs, map[string]any{"kzg": true})
	t.Logf("4 KZG blobs included at height %d", height)
	light.call(ctx, t, nil, "header.WaitForHeight", height)

	want := wantOutput(t)
	for _, b := range blobs {
		t.Run(fmt.Sprintf("%dB", len(b.Data)), func(t *testing.T) {
			var info kzgInfo
			light.call(ctx, t, &info, "blob.GetKZG", height, b.Namespace, b.Commitment)
			if info.Codec != blob.KZGCodec {
				t.Errorf("codec %q, want %q", info.Codec, blob.KZGCodec)
			}
			chunks, err := kzg.Chunks(b.Data)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Chunks) != len(chunks) {
				t.Fatalf("%d chunks, want %d", len(info.Chunks), len(chunks))
			}
			var fromBridge kzgInfo
			bridge.call(ctx, t, &fromBridge, "blob.GetKZG", height, b.Namespace, b.Commitment)
			if fmt.Sprint(fromBridge) != fmt.Sprint(info) {
				t.Errorf("the bridge answers %+v, the light node %+v", fromBridge, info)
			}
			for i, c := range info.Chunks {
				wantC, err := oracle.BlobToKZGCommitment((*goethkzg.Blob)(chunks[i]), 0)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(c.Commitment, wantC[:]) {
					t.Fatalf("chunk %d: commitment %x, go-eth-kzg computes %x", i, c.Commitment, wantC)
				}
				commitment := kzg4844.Commitment(wantC)
				vh := kzg4844.CalcBlobHashV1(sha256.New(), &commitment)
				if got := hexBytes(t, "versioned_hash", c.VersionedHash, 32); !bytes.Equal(got, vh[:]) {
					t.Fatalf("chunk %d: versioned hash %x, go-ethereum computes %x", i, got, vh)
				}
				if len(c.Proof) != 48 {
					t.Fatalf("chunk %d: proof of %d bytes", i, len(c.Proof))
				}
				if err := kzg4844.VerifyBlobProof((*kzg4844.Blob)(chunks[i]), commitment, kzg4844.Proof(c.Proof)); err != nil {
					t.Fatalf("chunk %d: kzg4844 refuses the blob proof: %v", i, err)
				}
			}

			// Openings of the first and the last chunk at random points.
			for _, chunk := range []int{0, len(chunks) - 1} {
				for range 2 {
					var z [32]byte
					for i := range z {
						z[i] = byte(rng.Uint32())
					}
					z[0] &= 0x3f // below the BLS12-381 scalar modulus
					var o kzgOpening
					light.call(ctx, t, &o, "blob.OpenKZG", height, b.Namespace, b.Commitment, chunk, hexutil.Encode(z[:]))
					in := hexBytes(t, "precompile_input", o.PrecompileInput, precompile.InputSize)
					parts := [][]byte{
						hexBytes(t, "versioned_hash", o.VersionedHash, 32), hexBytes(t, "z", o.Z, 32),
						hexBytes(t, "y", o.Y, 32), o.Commitment, o.Proof,
					}
					if !bytes.Equal(in, bytes.Join(parts, nil)) {
						t.Fatalf("chunk %d: precompile_input is not versioned_hash‖z‖y‖commitment‖proof", chunk)
					}
					if !bytes.Equal(parts[1], z[:]) || !bytes.Equal(parts[3], info.Chunks[chunk].Commitment) {
						t.Fatalf("chunk %d: opening is for z=%x, commitment %x", chunk, parts[1], parts[3])
					}
					out, err := precompile.Run(in)
					if err != nil {
						t.Fatalf("chunk %d, z=%x: go-ethereum's precompile refuses the opening: %v", chunk, z, err)
					}
					if !bytes.Equal(out, want) {
						t.Fatalf("chunk %d: precompile returned %x, want %x", chunk, out, want)
					}
					for _, p := range inputParts {
						refuse(t, flip(rng, in, p.off, p.size), fmt.Sprintf("chunk %d, flipped %s", chunk, p.name), p.refusal)
					}
				}
			}

			// Cells of the last chunk's extension: two from the blob's
			// half, two from the extension's.
			last := len(chunks) - 1
			indices := []uint64{0, 63, 64, 127}
			var cells kzgCells
			light.call(ctx, t, &cells, "blob.GetKZGCells", height, b.Namespace, b.Commitment, last, indices)
			if len(cells.Cells) != len(indices) || !bytes.Equal(cells.Commitment, info.Chunks[last].Commitment) {
				t.Fatalf("%d cells for commitment %x", len(cells.Cells), cells.Commitment)
			}
			var (
				commitments []goethkzg.KZGCommitment
				cellIdx     []uint64
				cellData    []*goethkzg.Cell
				proofs      []goethkzg.KZGProof
			)
			for i, c := range cells.Cells {
				if c.Index != indices[i] || len(c.Cell) != goethkzg.BytesPerCell || len(c.Proof) != 48 {
					t.Fatalf("cell %d: index %d, %d bytes, proof %d bytes", i, c.Index, len(c.Cell), len(c.Proof))
				}
				if c.Index < goethkzg.CellsPerExtBlob/2 {
					off := int(c.Index) * goethkzg.BytesPerCell
					if !bytes.Equal(c.Cell, chunks[last][off:off+goethkzg.BytesPerCell]) {
						t.Fatalf("cell %d of the blob's half is not its bytes", c.Index)
					}
				}
				commitments = append(commitments, goethkzg.KZGCommitment(cells.Commitment))
				cellIdx = append(cellIdx, c.Index)
				cellData = append(cellData, (*goethkzg.Cell)(c.Cell))
				proofs = append(proofs, goethkzg.KZGProof(c.Proof))
			}
			if err := oracle.VerifyCellKZGProofBatch(commitments, cellIdx, cellData, proofs); err != nil {
				t.Fatalf("go-eth-kzg refuses the cells: %v", err)
			}
			cellData[2][100] ^= 1
			if err := oracle.VerifyCellKZGProofBatch(commitments, cellIdx, cellData, proofs); err == nil {
				t.Fatal("go-eth-kzg accepts a cell with a flipped byte")
			}
		})
	}
}

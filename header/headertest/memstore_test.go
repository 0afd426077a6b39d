package headertest_test

import (
	"testing"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

func TestMemStore(t *testing.T) {
	headertest.TestStore(t, func(*testing.T) header.Store { return headertest.NewMemStore() })
}

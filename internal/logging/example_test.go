package logging_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/datamesh/mesh-node/internal/logging"
)

func ExampleParseLevels() {
	l, err := logging.ParseLevels("shrex=error, info, das=debug")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l)
	fmt.Println(l.Enabled("das", slog.LevelDebug), l.Enabled("shrex", slog.LevelWarn), l.Enabled("p2p", slog.LevelInfo))

	_, err = logging.ParseLevels("info,das=loud")
	fmt.Println(err)
	// Output:
	// info,das=debug,shrex=error
	// true false true
	// logging: bad level spec: level "loud" is not debug, info, warn, error or none (in "das=loud")
}

func ExampleNewHandler() {
	l, _ := logging.ParseLevels("info,das=debug")
	log := slog.New(logging.NewHandler(os.Stderr, l, false))
	log.With("service", "das").Debug("sampled", "height", 7) // logged
	log.With("service", "p2p").Debug("dialled")              // dropped
}

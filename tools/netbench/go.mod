module github.com/datamesh/mesh-node/tools/netbench

go 1.26.8

replace github.com/datamesh/mesh-node => ../..

require (
	github.com/datamesh/mesh-node v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_model v0.6.3
	github.com/prometheus/common v0.72.0
)

require (
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

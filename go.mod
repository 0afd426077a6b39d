module github.com/datamesh/mesh-node

go 1.26

;; reject_import: imports a host function that does not exist.
(module
  (import "mesh" "random" (func $random (result i64)))
  (func (export "f") (drop (call $random))))

;; counter: a stored little-endian u64 under the key "count".
;; increment adds one and returns the new value; get returns it.
(module
  (import "mesh" "storage_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "mesh" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "mesh" "return_data" (func $return (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "count")
  ;; the value lives at 16..24
  (func $load (result i64)
    (if (result i64)
      (i32.eq (call $get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)) (i32.const 8))
      (then (i64.load (i32.const 16)))
      (else (i64.const 0))))
  (func (export "increment")
    (i64.store (i32.const 16) (i64.add (call $load) (i64.const 1)))
    (call $set (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8))
    (call $return (i32.const 16) (i32.const 8)))
  (func (export "get")
    (i64.store (i32.const 16) (call $load))
    (call $return (i32.const 16) (i32.const 8))))

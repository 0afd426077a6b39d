;; grow: memory starts at 1 page with no declared maximum, so the VM's limit
;; (16 pages) applies. grow_ok grows by 1 page, grow_too_far by 100 pages;
;; each returns memory.grow's result (the old size, or -1) as 4 bytes.
(module
  (import "mesh" "return_data" (func $return (param i32 i32)))
  (memory 1)
  (func $grow (param $pages i32)
    (i32.store (i32.const 0) (memory.grow (local.get $pages)))
    (call $return (i32.const 0) (i32.const 4)))
  (func (export "grow_ok") (call $grow (i32.const 1)))
  (func (export "grow_too_far") (call $grow (i32.const 100))))

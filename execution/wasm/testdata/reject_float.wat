;; reject_float: uses f32.add; deployment must reject it.
(module
  (func (export "f") (result i32)
    (i32.trunc_f32_s (f32.add (f32.const 1) (f32.const 2)))))

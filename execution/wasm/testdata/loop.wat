;; loop: run never returns; it must end with out of gas.
(module
  (func (export "run")
    (loop $forever
      (br $forever))))

;; token: balances as little-endian u64 under the keys "b:" + address.
;;   init        input: supply (8 bytes); mints it to the caller (deployer).
;;   transfer    input: amount (8 bytes) then the recipient (1..64 bytes);
;;               moves amount from the caller, emits the input as an event,
;;               reverts with "insufficient balance".
;;   balance_of  input: an address (1..64 bytes); returns its balance (8 bytes).
;; Memory: messages at 0 and 16, the key at 64 ("b:" + address, up to 66
;; bytes), the input at 256, a value at 512, the caller at 1024.
(module
  (import "mesh" "input_len" (func $input_len (result i32)))
  (import "mesh" "input_read" (func $input_read (param i32)))
  (import "mesh" "caller" (func $caller (param i32) (result i32)))
  (import "mesh" "storage_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "mesh" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "mesh" "return_data" (func $return (param i32 i32)))
  (import "mesh" "emit_event" (func $emit (param i32 i32)))
  (import "mesh" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "bad input")
  (data (i32.const 16) "insufficient balance")

  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  ;; key writes "b:" + address at 64 and returns the key's length.
  (func $key (param $addr i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 64) (i32.const 98))
    (i32.store8 (i32.const 65) (i32.const 58))
    (call $copy (i32.const 66) (local.get $addr) (local.get $len))
    (i32.add (local.get $len) (i32.const 2)))

  (func $balance (param $addr i32) (param $len i32) (result i64)
    (local $k i32)
    (local.set $k (call $key (local.get $addr) (local.get $len)))
    (if (result i64)
      (i32.eq (call $get (i32.const 64) (local.get $k) (i32.const 512) (i32.const 8)) (i32.const 8))
      (then (i64.load (i32.const 512)))
      (else (i64.const 0))))

  (func $set_balance (param $addr i32) (param $len i32) (param $v i64)
    (local $k i32)
    (local.set $k (call $key (local.get $addr) (local.get $len)))
    (i64.store (i32.const 512) (local.get $v))
    (call $set (i32.const 64) (local.get $k) (i32.const 512) (i32.const 8)))

  ;; read_input reverts unless min <= input length <= max, copies the input
  ;; to 256 and returns its length.
  (func $read_input (param $min i32) (param $max i32) (result i32)
    (local $n i32)
    (local.set $n (call $input_len))
    (if (i32.or (i32.lt_u (local.get $n) (local.get $min)) (i32.gt_u (local.get $n) (local.get $max)))
      (then (call $revert (i32.const 0) (i32.const 9))))
    (call $input_read (i32.const 256))
    (local.get $n))

  (func (export "init")
    (local $c i32)
    (drop (call $read_input (i32.const 8) (i32.const 8)))
    (local.set $c (call $caller (i32.const 1024)))
    (call $set_balance (i32.const 1024) (local.get $c) (i64.load (i32.const 256))))

  (func (export "transfer")
    (local $n i32) (local $c i32) (local $amount i64) (local $from i64)
    (local.set $n (call $read_input (i32.const 9) (i32.const 72)))
    (local.set $amount (i64.load (i32.const 256)))
    (local.set $c (call $caller (i32.const 1024)))
    (local.set $from (call $balance (i32.const 1024) (local.get $c)))
    (if (i64.lt_u (local.get $from) (local.get $amount))
      (then (call $revert (i32.const 16) (i32.const 20))))
    (call $set_balance (i32.const 1024) (local.get $c) (i64.sub (local.get $from) (local.get $amount)))
    (call $set_balance (i32.const 264) (i32.sub (local.get $n) (i32.const 8))
      (i64.add
        (call $balance (i32.const 264) (i32.sub (local.get $n) (i32.const 8)))
        (local.get $amount)))
    (call $emit (i32.const 256) (local.get $n)))

  (func (export "balance_of")
    (local $n i32)
    (local.set $n (call $read_input (i32.const 1) (i32.const 64)))
    (i64.store (i32.const 512) (call $balance (i32.const 256) (local.get $n)))
    (call $return (i32.const 512) (i32.const 8))))

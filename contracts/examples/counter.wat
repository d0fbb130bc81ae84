;; A counter that admits calls from the contract "vault" only (custom section custos.callers). increment adds one
;; to "n" and returns the new value (8 bytes, little-endian); migrate adds one to "m" (run at an upgrade's deployment).
(module
  (@custom "custos.callers" "vault")
  (import "custos" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "custos" "state_put" (func $state_put (param i32 i32 i32 i32)))
  (import "custos" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (data (i32.const 1) "m")

  (func $add_one (param $key i32)
    (i64.store (i32.const 16) (i64.const 0))
    (drop (call $state_get (local.get $key) (i32.const 1) (i32.const 16) (i32.const 8)))
    (i64.store (i32.const 16) (i64.add (i64.load (i32.const 16)) (i64.const 1)))
    (call $state_put (local.get $key) (i32.const 1) (i32.const 16) (i32.const 8)))

  (func (export "increment")
    (call $add_one (i32.const 0))
    (call $output (i32.const 16) (i32.const 8)))

  (func (export "migrate")
    (call $add_one (i32.const 1)))
)

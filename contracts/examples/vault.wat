;; Calls counter v1 increment and keeps the result under "last". bump_then_fail does the same, then fails: the
;; counter's write must roll back with it. Deployed under another name, the same module is refused by the counter.
(module
  (import "custos" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "custos" "call_result_size" (func $call_result_size (result i32)))
  (import "custos" "call_result_read" (func $call_result_read (param i32)))
  (import "custos" "state_put" (func $state_put (param i32 i32 i32 i32)))
  (import "custos" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "counter")
  (data (i32.const 8) "increment")
  (data (i32.const 20) "last")
  (data (i32.const 32) "the counter refused")
  (data (i32.const 64) "failing after the call")

  (func $bump
    (local $status i32)
    (local.set $status (call $call (i32.const 0) (i32.const 7) (i32.const 1) (i32.const 8) (i32.const 9) (i32.const 0) (i32.const 0)))
    (if (i32.ne (local.get $status) (i32.const 0))
      (then (call $fail (local.get $status) (i32.const 32) (i32.const 19))))
    (if (i32.ne (call $call_result_size) (i32.const 8))
      (then unreachable))
    (call $call_result_read (i32.const 128))
    (call $state_put (i32.const 20) (i32.const 4) (i32.const 128) (i32.const 8)))

  (func (export "bump") (call $bump))

  (func (export "bump_then_fail")
    (call $bump)
    (call $fail (i32.const 704) (i32.const 64) (i32.const 22)))
)

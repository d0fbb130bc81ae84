;; Failure modes for tests: each method writes a key first, then fails in its own way. None of the writes may survive.
(module
  (import "custos" "state_put" (func $state_put (param i32 i32 i32 i32)))
  (import "custos" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "written")
  (data (i32.const 16) "refused on purpose")

  ;; Runs until the fuel (gas) is gone.
  (func (export "spin")
    (call $state_put (i32.const 0) (i32.const 7) (i32.const 0) (i32.const 7))
    (loop $forever (br $forever)))

  ;; Traps (unreachable).
  (func (export "trap")
    (call $state_put (i32.const 0) (i32.const 7) (i32.const 0) (i32.const 7))
    unreachable)

  ;; A typed failure: PermissionDenied (704).
  (func (export "refuse")
    (call $state_put (i32.const 0) (i32.const 7) (i32.const 0) (i32.const 7))
    (call $fail (i32.const 704) (i32.const 16) (i32.const 18)))

  ;; Succeeds.
  (func (export "write")
    (call $state_put (i32.const 0) (i32.const 7) (i32.const 0) (i32.const 7)))
)

;; A token with balances (SC example): transfer and mint, balances as 8-byte little-endian integers under
;; "b" ++ account. Arguments of both methods: 16-byte account id ++ 8-byte little-endian amount.
(module
  (import "custos" "input_size" (func $input_size (result i32)))
  (import "custos" "input_read" (func $input_read (param i32)))
  (import "custos" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "custos" "state_put" (func $state_put (param i32 i32 i32 i32)))
  (import "custos" "caller_account" (func $caller_account (param i32)))
  (import "custos" "caller_role" (func $caller_role (result i32)))
  (import "custos" "emit" (func $emit (param i32 i32 i32 i32)))
  (import "custos" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "transfer")
  (data (i32.const 520) "mint")
  (data (i32.const 528) "arguments are 24 bytes: account (16) and amount (8)")
  (data (i32.const 600) "insufficient funds")
  (data (i32.const 620) "only a special-privilege account mints")
  (data (i32.const 660) "amount must be positive")
  (data (i32.const 690) "balance would overflow")

  ;; Reads the arguments into 0..23 or fails with InvalidArguments (702).
  (func $arguments
    (if (i32.ne (call $input_size) (i32.const 24))
      (then (call $fail (i32.const 702) (i32.const 528) (i32.const 51))))
    (call $input_read (i32.const 0))
    (if (i64.eqz (i64.load (i32.const 16)))
      (then (call $fail (i32.const 702) (i32.const 660) (i32.const 23)))))

  ;; Writes the balance key "b" ++ account at $key.
  (func $key (param $key i32) (param $account i32)
    (i32.store8 (local.get $key) (i32.const 98))
    (memory.copy (i32.add (local.get $key) (i32.const 1)) (local.get $account) (i32.const 16)))

  (func $balance (param $key i32) (result i64)
    (if (i32.lt_s (call $state_get (local.get $key) (i32.const 17) (i32.const 160) (i32.const 8)) (i32.const 0))
      (then (return (i64.const 0))))
    (i64.load (i32.const 160)))

  (func $set_balance (param $key i32) (param $value i64)
    (i64.store (i32.const 160) (local.get $value))
    (call $state_put (local.get $key) (i32.const 17) (i32.const 160) (i32.const 8)))

  ;; Credits the account at 0..15 with the amount at 16..23, refusing an overflow (705 is not right for it: 702).
  (func $credit (param $key i32) (param $amount i64)
    (local $balance i64)
    (local.set $balance (call $balance (local.get $key)))
    (if (i64.lt_u (i64.add (local.get $balance) (local.get $amount)) (local.get $balance))
      (then (call $fail (i32.const 702) (i32.const 690) (i32.const 22))))
    (call $set_balance (local.get $key) (i64.add (local.get $balance) (local.get $amount))))

  (func (export "transfer")
    (local $from i64)
    (local $amount i64)
    (call $arguments)
    (local.set $amount (i64.load (i32.const 16)))
    (call $caller_account (i32.const 64))
    (call $key (i32.const 80) (i32.const 64))
    (call $key (i32.const 112) (i32.const 0))
    (local.set $from (call $balance (i32.const 80)))
    (if (i64.lt_u (local.get $from) (local.get $amount))
      (then (call $fail (i32.const 705) (i32.const 600) (i32.const 18))))
    (call $set_balance (i32.const 80) (i64.sub (local.get $from) (local.get $amount)))
    (call $credit (i32.const 112) (local.get $amount))
    ;; Event data: from (16) ++ to (16) ++ amount (8).
    (memory.copy (i32.const 256) (i32.const 64) (i32.const 16))
    (memory.copy (i32.const 272) (i32.const 0) (i32.const 24))
    (call $emit (i32.const 512) (i32.const 8) (i32.const 256) (i32.const 40)))

  (func (export "mint")
    (if (i32.ne (call $caller_role) (i32.const 3))
      (then (call $fail (i32.const 704) (i32.const 620) (i32.const 38))))
    (call $arguments)
    (call $key (i32.const 112) (i32.const 0))
    (call $credit (i32.const 112) (i64.load (i32.const 16)))
    (call $emit (i32.const 520) (i32.const 4) (i32.const 0) (i32.const 24)))
)

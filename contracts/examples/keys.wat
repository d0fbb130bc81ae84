;; Range scans: put stores its input as a key (value = key), remove deletes it, list emits one event "key" per key in
;; ascending byte order (state_next from the empty key, no upper bound).
(module
  (import "custos" "input_size" (func $input_size (result i32)))
  (import "custos" "input_read" (func $input_read (param i32)))
  (import "custos" "state_put" (func $state_put (param i32 i32 i32 i32)))
  (import "custos" "state_delete" (func $state_delete (param i32 i32)))
  (import "custos" "state_next" (func $state_next (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "custos" "emit" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 500) "key")

  ;; Input: keys, each one length byte followed by the key.
  (func $each (param $delete i32)
    (local $at i32)
    (local $end i32)
    (local $length i32)
    (local.set $end (call $input_size))
    (call $input_read (i32.const 4096))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $length (i32.load8_u (i32.add (i32.const 4096) (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (if (local.get $delete)
          (then (call $state_delete (i32.add (i32.const 4096) (local.get $at)) (local.get $length)))
          (else (call $state_put (i32.add (i32.const 4096) (local.get $at)) (local.get $length) (i32.add (i32.const 4096) (local.get $at)) (local.get $length))))
        (local.set $at (i32.add (local.get $at) (local.get $length)))
        (br $next))))

  (func (export "put") (call $each (i32.const 0)))

  (func (export "remove") (call $each (i32.const 1)))

  (func (export "list")
    (local $length i32)
    (local $start i32)
    (block $done
      (loop $next
        (local.set $length (call $state_next (i32.const 1024) (local.get $start) (i32.const 0) (i32.const -1) (i32.const 2048) (i32.const 256)))
        (br_if $done (i32.lt_s (local.get $length) (i32.const 0)))
        (call $emit (i32.const 500) (i32.const 3) (i32.const 2048) (local.get $length))
        ;; The next scan starts just after this key: the key followed by a zero byte.
        (memory.copy (i32.const 1024) (i32.const 2048) (local.get $length))
        (i32.store8 (i32.add (i32.const 1024) (local.get $length)) (i32.const 0))
        (local.set $start (i32.add (local.get $length) (i32.const 1)))
        (br $next))))
)

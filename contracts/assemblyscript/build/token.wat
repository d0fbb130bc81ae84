(module
 (type $0 (func (param i32 i32 i32)))
 (type $1 (func (param i32) (result i32)))
 (type $2 (func (result i32)))
 (type $3 (func))
 (type $4 (func (param i32 i32) (result i32)))
 (type $5 (func (param i32 i32)))
 (type $6 (func (param i32 i64)))
 (type $7 (func (param i32 i32 i32 i32)))
 (type $8 (func (param i32)))
 (type $9 (func (param i32) (result i64)))
 (type $10 (func (param i32 i32 i32 i32) (result i32)))
 (import "custos" "state_put" (func $sdk/custos/state_put (param i32 i32 i32 i32)))
 (import "custos" "state_get" (func $sdk/custos/state_get (param i32 i32 i32 i32) (result i32)))
 (import "custos" "input_size" (func $sdk/custos/input_size (result i32)))
 (import "custos" "input_read" (func $sdk/custos/input_read (param i32)))
 (import "custos" "fail" (func $sdk/custos/fail_ (param i32 i32 i32)))
 (import "custos" "emit" (func $sdk/custos/emit (param i32 i32 i32 i32)))
 (import "custos" "caller_role" (func $sdk/custos/caller_role (result i32)))
 (import "custos" "caller_account" (func $sdk/custos/caller_account (param i32)))
 (global $~lib/rt/stub/offset (mut i32) (i32.const 0))
 (memory $0 1)
 (data $0 (i32.const 1036) ",")
 (data $0.1 (i32.const 1048) "\02\00\00\00\1c\00\00\00I\00n\00v\00a\00l\00i\00d\00 \00l\00e\00n\00g\00t\00h")
 (data $1 (i32.const 1084) "<")
 (data $1.1 (i32.const 1096) "\02\00\00\00&\00\00\00~\00l\00i\00b\00/\00a\00r\00r\00a\00y\00b\00u\00f\00f\00e\00r\00.\00t\00s")
 (data $2 (i32.const 1148) "<")
 (data $2.1 (i32.const 1160) "\02\00\00\00(\00\00\00A\00l\00l\00o\00c\00a\00t\00i\00o\00n\00 \00t\00o\00o\00 \00l\00a\00r\00g\00e")
 (data $3 (i32.const 1212) "<")
 (data $3.1 (i32.const 1224) "\02\00\00\00\1e\00\00\00~\00l\00i\00b\00/\00r\00t\00/\00s\00t\00u\00b\00.\00t\00s")
 (data $4 (i32.const 1276) "|")
 (data $4.1 (i32.const 1288) "\02\00\00\00f\00\00\00a\00r\00g\00u\00m\00e\00n\00t\00s\00 \00a\00r\00e\00 \002\004\00 \00b\00y\00t\00e\00s\00:\00 \00a\00c\00c\00o\00u\00n\00t\00 \00(\001\006\00)\00 \00a\00n\00d\00 \00a\00m\00o\00u\00n\00t\00 \00(\008\00)")
 (data $5 (i32.const 1404) "<")
 (data $5.1 (i32.const 1416) "\02\00\00\00$\00\00\00I\00n\00d\00e\00x\00 \00o\00u\00t\00 \00o\00f\00 \00r\00a\00n\00g\00e")
 (data $6 (i32.const 1468) "<")
 (data $6.1 (i32.const 1480) "\02\00\00\00$\00\00\00~\00l\00i\00b\00/\00t\00y\00p\00e\00d\00a\00r\00r\00a\00y\00.\00t\00s")
 (data $7 (i32.const 1532) "L")
 (data $7.1 (i32.const 1544) "\02\00\00\00.\00\00\00a\00m\00o\00u\00n\00t\00 \00m\00u\00s\00t\00 \00b\00e\00 \00p\00o\00s\00i\00t\00i\00v\00e")
 (data $8 (i32.const 1612) "<")
 (data $8.1 (i32.const 1624) "\02\00\00\00$\00\00\00i\00n\00s\00u\00f\00f\00i\00c\00i\00e\00n\00t\00 \00f\00u\00n\00d\00s")
 (data $9 (i32.const 1676) "<")
 (data $9.1 (i32.const 1688) "\02\00\00\00,\00\00\00b\00a\00l\00a\00n\00c\00e\00 \00w\00o\00u\00l\00d\00 \00o\00v\00e\00r\00f\00l\00o\00w")
 (data $10 (i32.const 1740) ",")
 (data $10.1 (i32.const 1752) "\02\00\00\00\10\00\00\00t\00r\00a\00n\00s\00f\00e\00r")
 (data $11 (i32.const 1788) "\\")
 (data $11.1 (i32.const 1800) "\02\00\00\00L\00\00\00o\00n\00l\00y\00 \00a\00 \00s\00p\00e\00c\00i\00a\00l\00-\00p\00r\00i\00v\00i\00l\00e\00g\00e\00 \00a\00c\00c\00o\00u\00n\00t\00 \00m\00i\00n\00t\00s")
 (data $12 (i32.const 1884) "\1c")
 (data $12.1 (i32.const 1896) "\02\00\00\00\08\00\00\00m\00i\00n\00t")
 (export "transfer" (func $examples/token/transfer))
 (export "mint" (func $examples/token/mint))
 (export "memory" (memory $0))
 (start $~start)
 (func $~lib/rt/stub/__new (param $0 i32) (param $1 i32) (result i32)
  (local $2 i32)
  (local $3 i32)
  (local $4 i32)
  (local $5 i32)
  (local $6 i32)
  local.get $0
  i32.const 1073741804
  i32.gt_u
  if
   unreachable
  end
  local.get $0
  i32.const 16
  i32.add
  local.tee $3
  i32.const 1073741820
  i32.gt_u
  if
   unreachable
  end
  global.get $~lib/rt/stub/offset
  i32.const 4
  i32.add
  local.tee $2
  local.get $3
  i32.const 19
  i32.add
  i32.const -16
  i32.and
  i32.const 4
  i32.sub
  local.tee $3
  i32.add
  local.tee $4
  memory.size
  local.tee $5
  i32.const 16
  i32.shl
  i32.const 15
  i32.add
  i32.const -16
  i32.and
  local.tee $6
  i32.gt_u
  if
   local.get $5
   local.get $4
   local.get $6
   i32.sub
   i32.const 65535
   i32.add
   i32.const -65536
   i32.and
   i32.const 16
   i32.shr_u
   local.tee $6
   local.get $5
   local.get $6
   i32.gt_s
   select
   memory.grow
   i32.const 0
   i32.lt_s
   if
    local.get $6
    memory.grow
    i32.const 0
    i32.lt_s
    if
     unreachable
    end
   end
  end
  global.get $~lib/rt/stub/offset
  local.get $4
  global.set $~lib/rt/stub/offset
  local.get $3
  i32.store
  local.get $2
  i32.const 4
  i32.sub
  local.tee $3
  i32.const 0
  i32.store offset=4
  local.get $3
  i32.const 0
  i32.store offset=8
  local.get $3
  local.get $1
  i32.store offset=12
  local.get $3
  local.get $0
  i32.store offset=16
  local.get $2
  i32.const 16
  i32.add
 )
 (func $~lib/arraybuffer/ArrayBufferView#constructor (param $0 i32) (param $1 i32) (result i32)
  (local $2 i32)
  local.get $0
  i32.eqz
  if
   i32.const 12
   i32.const 3
   call $~lib/rt/stub/__new
   local.set $0
  end
  local.get $0
  i32.const 0
  i32.store
  local.get $0
  i32.const 0
  i32.store offset=4
  local.get $0
  i32.const 0
  i32.store offset=8
  local.get $1
  i32.const 1073741820
  i32.gt_u
  if
   unreachable
  end
  local.get $1
  i32.const 1
  call $~lib/rt/stub/__new
  local.tee $2
  i32.const 0
  local.get $1
  memory.fill
  local.get $0
  local.get $2
  i32.store
  local.get $0
  local.get $2
  i32.store offset=4
  local.get $0
  local.get $1
  i32.store offset=8
  local.get $0
 )
 (func $sdk/custos/fail (param $0 i32) (param $1 i32)
  local.get $0
  local.get $1
  call $sdk/custos/ascii
  local.tee $0
  i32.load offset=4
  local.get $0
  i32.load offset=8
  call $sdk/custos/fail_
  unreachable
 )
 (func $~lib/typedarray/Uint8Array#set<~lib/typedarray/Uint8Array> (param $0 i32) (param $1 i32) (param $2 i32)
  (local $3 i32)
  local.get $1
  i32.load offset=8
  local.set $3
  local.get $2
  i32.const 0
  i32.lt_s
  if (result i32)
   i32.const 1
  else
   local.get $0
   i32.load offset=8
   local.get $2
   local.get $3
   i32.add
   i32.lt_s
  end
  if
   unreachable
  end
  local.get $0
  i32.load offset=4
  local.get $2
  i32.add
  local.get $1
  i32.load offset=4
  local.get $3
  memory.copy
 )
 (func $examples/token/balanceKey (param $0 i32) (result i32)
  (local $1 i32)
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  i32.const 17
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.tee $1
  i32.const 0
  i32.const 98
  call $~lib/typedarray/Uint8Array#__set
  local.get $1
  local.get $0
  i32.const 1
  call $~lib/typedarray/Uint8Array#set<~lib/typedarray/Uint8Array>
  local.get $1
 )
 (func $~lib/typedarray/Uint8Array#subarray (param $0 i32) (result i32)
  (local $1 i32)
  (local $2 i32)
  (local $3 i32)
  local.get $0
  i32.load offset=8
  local.tee $3
  i32.const 0
  local.get $3
  i32.const 0
  i32.le_s
  select
  local.set $1
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  local.tee $2
  local.get $0
  i32.load
  i32.store
  local.get $2
  local.get $0
  i32.load offset=4
  local.get $1
  i32.add
  i32.store offset=4
  local.get $2
  i32.const 16
  local.get $3
  local.get $3
  i32.const 16
  i32.gt_s
  select
  local.tee $0
  local.get $1
  local.get $0
  local.get $1
  i32.gt_s
  select
  local.get $1
  i32.sub
  i32.store offset=8
  local.get $2
 )
 (func $~lib/typedarray/Uint8Array#__set (param $0 i32) (param $1 i32) (param $2 i32)
  local.get $1
  local.get $0
  i32.load offset=8
  i32.ge_u
  if
   unreachable
  end
  local.get $0
  i32.load offset=4
  local.get $1
  i32.add
  local.get $2
  i32.store8
 )
 (func $sdk/custos/putU64 (param $0 i32) (param $1 i64)
  (local $2 i32)
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  i32.const 8
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.tee $2
  i32.load offset=4
  local.get $1
  i64.store
  local.get $0
  i32.load offset=4
  local.get $0
  i32.load offset=8
  local.get $2
  i32.load offset=4
  i32.const 8
  call $sdk/custos/state_put
 )
 (func $sdk/custos/getU64 (param $0 i32) (result i64)
  (local $1 i32)
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  i32.const 8
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.set $1
  local.get $0
  i32.load offset=4
  local.get $0
  i32.load offset=8
  local.get $1
  i32.load offset=4
  i32.const 8
  call $sdk/custos/state_get
  i32.const 0
  i32.lt_s
  if (result i64)
   i64.const 0
  else
   local.get $1
   i32.load offset=4
   i64.load
  end
 )
 (func $sdk/custos/event (param $0 i32) (param $1 i32)
  local.get $0
  call $sdk/custos/ascii
  local.tee $0
  i32.load offset=4
  local.get $0
  i32.load offset=8
  local.get $1
  i32.load offset=4
  local.get $1
  i32.load offset=8
  call $sdk/custos/emit
 )
 (func $sdk/custos/ascii (param $0 i32) (result i32)
  (local $1 i32)
  (local $2 i32)
  (local $3 i32)
  local.get $0
  i32.const 20
  i32.sub
  i32.load offset=16
  i32.const 1
  i32.shr_u
  local.set $2
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  local.get $2
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.set $3
  loop $for-loop|0
   local.get $1
   local.get $0
   i32.const 20
   i32.sub
   i32.load offset=16
   i32.const 1
   i32.shr_u
   local.tee $2
   i32.lt_s
   if
    local.get $3
    local.get $1
    local.get $1
    local.get $2
    i32.ge_u
    if (result i32)
     i32.const -1
    else
     local.get $0
     local.get $1
     i32.const 1
     i32.shl
     i32.add
     i32.load16_u
    end
    i32.const 255
    i32.and
    call $~lib/typedarray/Uint8Array#__set
    local.get $1
    i32.const 1
    i32.add
    local.set $1
    br $for-loop|0
   end
  end
  local.get $3
 )
 (func $examples/token/readArguments (result i32)
  (local $0 i32)
  call $sdk/custos/input_size
  local.set $0
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  local.get $0
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.tee $0
  i32.load offset=4
  call $sdk/custos/input_read
  local.get $0
  i32.load offset=8
  i32.const 24
  i32.ne
  if
   i32.const 702
   i32.const 1296
   call $sdk/custos/fail
  end
  local.get $0
  i32.load offset=4
  i64.load offset=16
  i64.eqz
  if
   i32.const 702
   i32.const 1552
   call $sdk/custos/fail
  end
  local.get $0
 )
 (func $examples/token/credit (param $0 i32) (param $1 i64)
  (local $2 i64)
  local.get $0
  call $sdk/custos/getU64
  local.tee $2
  local.get $1
  i64.add
  local.get $2
  i64.lt_u
  if
   i32.const 702
   i32.const 1696
   call $sdk/custos/fail
  end
  local.get $0
  local.get $1
  local.get $2
  i64.add
  call $sdk/custos/putU64
 )
 (func $~start
  i32.const 1916
  global.set $~lib/rt/stub/offset
 )
 (func $examples/token/transfer
  (local $0 i32)
  (local $1 i64)
  (local $2 i32)
  (local $3 i64)
  (local $4 i32)
  call $examples/token/readArguments
  local.tee $0
  i32.load offset=4
  i64.load offset=16
  local.set $1
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  i32.const 16
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.tee $2
  i32.load offset=4
  call $sdk/custos/caller_account
  local.get $2
  call $examples/token/balanceKey
  local.tee $4
  call $sdk/custos/getU64
  local.tee $3
  local.get $1
  i64.lt_u
  if
   i32.const 705
   i32.const 1632
   call $sdk/custos/fail
  end
  local.get $4
  local.get $3
  local.get $1
  i64.sub
  call $sdk/custos/putU64
  local.get $0
  call $~lib/typedarray/Uint8Array#subarray
  call $examples/token/balanceKey
  local.get $1
  call $examples/token/credit
  i32.const 12
  i32.const 4
  call $~lib/rt/stub/__new
  i32.const 40
  call $~lib/arraybuffer/ArrayBufferView#constructor
  local.tee $4
  local.get $2
  i32.const 0
  call $~lib/typedarray/Uint8Array#set<~lib/typedarray/Uint8Array>
  local.get $4
  local.get $0
  i32.const 16
  call $~lib/typedarray/Uint8Array#set<~lib/typedarray/Uint8Array>
  i32.const 1760
  local.get $4
  call $sdk/custos/event
 )
 (func $examples/token/mint
  (local $0 i32)
  call $sdk/custos/caller_role
  i32.const 3
  i32.ne
  if
   i32.const 704
   i32.const 1808
   call $sdk/custos/fail
  end
  call $examples/token/readArguments
  local.tee $0
  call $~lib/typedarray/Uint8Array#subarray
  call $examples/token/balanceKey
  local.get $0
  i32.load offset=4
  i64.load offset=16
  call $examples/token/credit
  i32.const 1904
  local.get $0
  call $sdk/custos/event
 )
)

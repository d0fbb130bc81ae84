using Custos.Core;
using Custos.Crypto;
using Custos.Core.Wire;
using Custos.Execution;

namespace Custos.Contracts.Wasm.Tests;

public sealed class HostInterfaceTests
{
    [Fact]
    public void Hash_is_the_chains_hash_and_block_facts_come_from_the_header()
    {
        var chain = new Chain(SharedRuntime.Instance);
        chain.Install("facts", ExampleContracts.FromText("""
            (module
              (import "custos" "hash" (func $hash (param i32 i32 i32)))
              (import "custos" "block_height" (func $height (result i64)))
              (import "custos" "block_time" (func $time (result i64)))
              (import "custos" "caller_contract" (func $caller_contract (param i32 i32) (result i32)))
              (import "custos" "emit" (func $emit (param i32 i32 i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "abc")
              (func (export "run")
                (call $hash (i32.const 0) (i32.const 3) (i32.const 64))
                (call $emit (i32.const 0) (i32.const 3) (i32.const 64) (i32.const 32))
                (i64.store (i32.const 128) (call $height))
                (i64.store (i32.const 136) (call $time))
                (i32.store (i32.const 144) (call $caller_contract (i32.const 200) (i32.const 64)))
                (call $emit (i32.const 0) (i32.const 3) (i32.const 128) (i32.const 20))))
            """));
        var receipt = chain.Call(1, "facts", "run");
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
        Assert.Equal(chain.Suite.Hash("abc"u8).ToArray(), receipt.Events[0].Data.ToByteArray());
        var facts = receipt.Events[1].Data.ToByteArray();
        Assert.Equal(chain.Height, BitConverter.ToUInt64(facts, 0));
        Assert.Equal(1_767_225_600_000 + chain.Height * 1000, BitConverter.ToUInt64(facts, 8));
        Assert.Equal(0, BitConverter.ToInt32(facts, 16));
    }

    [Fact]
    public void Verify_checks_a_signature_with_the_chains_suite()
    {
        var chain = new Chain(SharedRuntime.Instance);
        chain.Install("notary", ExampleContracts.FromText("""
            (module
              (import "custos" "input_size" (func $size (result i32)))
              (import "custos" "input_read" (func $read (param i32)))
              (import "custos" "verify" (func $verify (param i32 i32 i32 i32 i32 i32) (result i32)))
              (import "custos" "emit" (func $emit (param i32 i32 i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "checked")
              ;; Input: 65-byte key ++ 64-byte signature ++ message.
              (func (export "run")
                (call $read (i32.const 1024))
                (i32.store (i32.const 16) (call $verify (i32.const 1024) (i32.const 65) (i32.const 1153) (i32.sub (call $size) (i32.const 129)) (i32.const 1089) (i32.const 64)))
                (call $emit (i32.const 0) (i32.const 7) (i32.const 16) (i32.const 4))))
            """));
        var key = chain.Suite.GenerateKey();
        var message = "pay 5 to bob"u8.ToArray();
        var signature = key.Sign(message);
        byte[] Input(byte[] signed) => [.. key.PublicKey.Encoded, .. signature, .. signed];

        var valid = chain.Call(1, "notary", "run", Input(message));
        Assert.True(valid.Code == ErrorCode.Ok, valid.Message);
        Assert.Equal(1, BitConverter.ToInt32(valid.Events[0].Data.ToByteArray()));
        var forged = chain.Call(1, "notary", "run", Input("pay 500 to bob"u8.ToArray()));
        Assert.Equal(0, BitConverter.ToInt32(forged.Events[0].Data.ToByteArray()));
    }

    [Fact]
    public void Nested_calls_stop_at_the_depth_limit()
    {
        var chain = new Chain(SharedRuntime.Instance);
        chain.Install("echo", ExampleContracts.FromText("""
            (module
              (@custom "custos.callers" "*")
              (import "custos" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
              (import "custos" "fail" (func $fail (param i32 i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "echo")
              (data (i32.const 8) "run")
              (func (export "run")
                (local $status i32)
                (local.set $status (call $call (i32.const 0) (i32.const 4) (i32.const 1) (i32.const 8) (i32.const 3) (i32.const 0) (i32.const 0)))
                (if (local.get $status) (then (call $fail (local.get $status) (i32.const 0) (i32.const 4))))))
            """));
        var receipt = chain.Call(1, "echo", "run", gasLimit: 10_000_000);
        Assert.Equal(ErrorCode.ContractCallDenied, receipt.Code);
    }

    [Fact]
    public void Unbounded_recursion_in_the_deepest_nested_call_traps_without_harming_the_node()
    {
        var chain = new Chain(SharedRuntime.Instance);
        chain.Install("abyss", ExampleContracts.FromText("""
            (module
              (@custom "custos.callers" "*")
              (import "custos" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
              (import "custos" "fail" (func $fail (param i32 i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "abyss")
              (data (i32.const 8) "run")
              (func $down (param i64) (result i64) (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
              (func (export "run")
                (local $status i32)
                (local.set $status (call $call (i32.const 0) (i32.const 5) (i32.const 1) (i32.const 8) (i32.const 3) (i32.const 0) (i32.const 0)))
                ;; At the depth limit the call is denied (717): recurse until the stack runs out.
                (if (i32.eq (local.get $status) (i32.const 717)) (then (drop (call $down (i64.const 0)))))
                (if (local.get $status) (then (call $fail (local.get $status) (i32.const 0) (i32.const 5))))))
            """));
        var receipt = chain.Call(1, "abyss", "run", gasLimit: 50_000_000);
        Assert.Equal(ErrorCode.ContractTrapped, receipt.Code);
        var again = chain.Call(1, "abyss", "run", gasLimit: 50_000_000);
        Assert.Equal(receipt.GasUsed, again.GasUsed);
    }

    [Fact]
    public void Memory_access_outside_memory_traps()
    {
        var chain = new Chain(SharedRuntime.Instance);
        chain.Install("wild", ExampleContracts.FromText("""
            (module
              (import "custos" "state_put" (func $put (param i32 i32 i32 i32)))
              (memory (export "memory") 1)
              (func (export "run") (call $put (i32.const 65530) (i32.const 100) (i32.const 0) (i32.const 1))))
            """));
        var receipt = chain.Call(1, "wild", "run");
        Assert.Equal(ErrorCode.ContractTrapped, receipt.Code);
        Assert.Contains("out of bounds", receipt.Message);
    }

    [Fact]
    public void Checks_never_throw_on_corrupted_modules()
    {
        var token = ExampleContracts.Module("token");
        var random = new Random(1234);
        for (var i = 0; i < 2_000; i++)
        {
            var bytes = (byte[])token.Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--) bytes[random.Next(8, bytes.Length)] = (byte)random.Next(256);
            if (random.Next(4) == 0) bytes = bytes[..random.Next(8, bytes.Length)];
            var report = ContractChecks.Run(bytes);
            Assert.NotNull(report.Findings);
        }
    }
}

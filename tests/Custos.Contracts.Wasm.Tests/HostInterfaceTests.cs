using Custos.Core;
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

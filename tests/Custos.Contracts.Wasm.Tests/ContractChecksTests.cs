using Custos.Execution;

namespace Custos.Contracts.Wasm.Tests;

public sealed class ContractChecksTests
{
    private static readonly WasmContractRuntime Runtime = SharedRuntime.Instance;

    private static ContractCheckReport Check(string wat) => Runtime.Check(ExampleContracts.FromText(wat));

    private static void AssertError(ContractCheckReport report, string rule) =>
        Assert.Contains(report.Findings, f => f.Rule == rule && f.Severity == FindingSeverity.Error);

    [Theory]
    [InlineData("token")]
    [InlineData("counter")]
    [InlineData("vault")]
    [InlineData("keys")]
    [InlineData("faults")]
    public void Example_contracts_pass_the_checks(string name)
    {
        var report = Runtime.Check(ExampleContracts.Module(name));
        Assert.False(report.HasErrors, report.Summary());
    }

    [Fact]
    public void Token_example_declares_its_methods()
    {
        Assert.Equal(["mint", "transfer"], Runtime.Check(ExampleContracts.Module("token")).Methods);
    }

    [Fact]
    public void Counter_declares_the_callers_it_admits()
    {
        Assert.Equal(["vault"], Runtime.Check(ExampleContracts.Module("counter")).AdmittedCallers);
    }

    [Fact]
    public void Float_instruction_is_an_error()
    {
        var report = Runtime.Check(ExampleContracts.Module("float"));
        AssertError(report, "CK020");
        Assert.Contains("floating-point", report.Summary());
    }

    [Fact]
    public void Float_in_a_signature_or_local_is_an_error()
    {
        AssertError(Check("""(module (memory (export "memory") 1) (func (export "run") (local f32)))"""), "CK021");
        AssertError(Check("""(module (memory (export "memory") 1) (func (export "run")) (func (param f64)))"""), "CK021");
    }

    [Fact]
    public void Import_from_another_module_is_an_error()
    {
        AssertError(Check("""(module (import "env" "now" (func (result i64))) (memory (export "memory") 1) (func (export "run")))"""), "CK010");
    }

    [Fact]
    public void Unknown_host_function_is_an_error()
    {
        AssertError(Check("""(module (import "custos" "random" (func (result i64))) (memory (export "memory") 1) (func (export "run")))"""), "CK011");
    }

    [Fact]
    public void Host_function_with_another_signature_is_an_error()
    {
        AssertError(Check("""(module (import "custos" "state_get" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "run")))"""), "CK012");
    }

    [Fact]
    public void Imported_memory_is_an_error()
    {
        AssertError(Check("""(module (import "custos" "memory" (memory 1)) (func (export "run")))"""), "CK013");
    }

    [Fact]
    public void Simd_is_an_error()
    {
        AssertError(Check("""(module (memory (export "memory") 1) (func (export "run") (drop (v128.const i64x2 0 0))))"""), "CK022");
    }

    [Fact]
    public void Shared_memory_and_atomics_are_errors()
    {
        var report = Check("""(module (memory (export "memory") 1 1 shared) (func (export "run") (drop (i32.atomic.load (i32.const 0)))))""");
        AssertError(report, "CK023");
    }

    [Fact]
    public void Start_function_reaching_the_host_is_an_error()
    {
        AssertError(Check("""
            (module (import "custos" "state_delete" (func $d (param i32 i32)))
              (memory (export "memory") 1)
              (func $init (call $d (i32.const 0) (i32.const 0)))
              (start $init)
              (func (export "run")))
            """), "CK030");
    }

    [Fact]
    public void Start_function_without_host_calls_is_accepted()
    {
        var report = Check("""(module (memory (export "memory") 1) (func $init (i32.store (i32.const 0) (i32.const 1))) (start $init) (func (export "run")))""");
        Assert.False(report.HasErrors, report.Summary());
    }

    [Fact]
    public void Memory_above_the_limit_is_an_error()
    {
        AssertError(Check($$"""(module (memory (export "memory") {{WasmLimits.MemoryPagesMax + 1}}) (func (export "run")))"""), "CK031");
    }

    [Fact]
    public void Missing_memory_export_and_missing_methods_are_errors()
    {
        var report = Check("""(module (memory 1) (func (export "helper") (param i32)))""");
        AssertError(report, "CK040");
        AssertError(report, "CK041");
    }

    [Fact]
    public void Bytes_that_are_not_a_module_are_an_error()
    {
        var report = Runtime.Check([0, 97, 115, 109, 1, 0, 0, 0, 1, 200]);
        AssertError(report, "CK001");
        Assert.Single(report.Findings);
    }

    [Fact]
    public void Oversized_module_is_an_error()
    {
        AssertError(Runtime.Check(new byte[ContractRegistry.ModuleSizeBytesMax + 1]), "CK002");
    }

    [Fact]
    public void Loop_with_no_way_out_is_a_warning_not_an_error()
    {
        var report = Runtime.Check(ExampleContracts.Module("faults"));
        Assert.Contains(report.Findings, f => f.Rule == "DP001" && f.Severity == FindingSeverity.Warning);
        Assert.False(report.HasErrors, report.Summary());
    }

    [Fact]
    public void Loop_that_can_exit_is_not_reported()
    {
        Assert.DoesNotContain(Runtime.Check(ExampleContracts.Module("keys")).Findings, f => f.Rule == "DP001");
    }

    [Fact]
    public void Memory_growth_in_a_loop_and_recursion_are_warnings()
    {
        var report = Check("""
            (module (memory (export "memory") 1)
              (func $f (call $f))
              (func (export "run") (block $out (loop $l (drop (memory.grow (i32.const 1))) (br_if $out (i32.const 1)) (br $l)))))
            """);
        Assert.Contains(report.Findings, f => f.Rule == "DP002");
        Assert.Contains(report.Findings, f => f.Rule == "DP003");
        Assert.False(report.HasErrors, report.Summary());
    }
}

internal static class SharedRuntime
{
    public static WasmContractRuntime Instance { get; } = new();
}

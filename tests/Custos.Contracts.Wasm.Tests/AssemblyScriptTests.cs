using Custos.Core.Wire;

namespace Custos.Contracts.Wasm.Tests;

/// <summary>The committed build of contracts/assemblyscript/examples/token.ts.</summary>
public sealed class AssemblyScriptTests
{
    private static byte[] Token()
    {
        using var stream = typeof(AssemblyScriptTests).Assembly.GetManifestResourceStream("assemblyscript-token.wasm")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [Fact]
    public void Committed_token_build_passes_the_checks()
    {
        var report = SharedRuntime.Instance.Check(Token());
        Assert.False(report.HasErrors, report.Summary());
        Assert.Equal(["mint", "transfer"], report.Methods);
    }

    [Fact]
    public void Committed_token_build_mints_and_transfers_like_the_wat_token()
    {
        var chain = new Chain(SharedRuntime.Instance);
        chain.Install("ascoin", Token());
        Assert.Equal(ErrorCode.Ok, chain.Call(0, "ascoin", "mint", chain.TokenArguments(1, 1_000)).Code);
        var receipt = chain.Call(1, "ascoin", "transfer", chain.TokenArguments(2, 400));
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
        Assert.Equal(600UL, chain.TokenBalance("ascoin", 1));
        Assert.Equal(400UL, chain.TokenBalance("ascoin", 2));
        Assert.Equal(ErrorCode.InsufficientFunds, chain.Call(2, "ascoin", "transfer", chain.TokenArguments(1, 401)).Code);
        Assert.Equal(ErrorCode.PermissionDenied, chain.Call(1, "ascoin", "mint", chain.TokenArguments(1, 1)).Code);
    }
}

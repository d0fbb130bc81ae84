using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Custos.Sdk;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

/// <summary>
/// What a scenario checks and how it reports: each step prints a line, each expectation is recorded as held or not
/// with the reason, and the run ends with one summary line. A scenario passes only if every expectation held.
/// </summary>
internal sealed class ScenarioRun(string name, TextWriter output)
{
    private readonly List<(string What, bool Held, string Detail)> _expectations = [];

    public int Held => _expectations.Count(e => e.Held);

    public int Failed => _expectations.Count(e => !e.Held);

    public bool Passed => _expectations.Count > 0 && Failed == 0;

    public void Step(string text) => output.WriteLine($"{name}: {text}");

    /// <summary>Records an expectation; prints it with a mark so a reader sees at once what held.</summary>
    public bool Expect(bool held, string what, string? detail = null)
    {
        _expectations.Add((what, held, detail ?? string.Empty));
        output.WriteLine($"  [{(held ? "ok" : "FAILED")}] {what}{(string.IsNullOrEmpty(detail) ? "" : $" ({detail})")}");
        return held;
    }

    public bool ExpectCode(Receipt receipt, ErrorCode expected, string what) =>
        Expect(receipt.Code == expected, what, receipt.Code == ErrorCode.Ok ? $"committed at height {receipt.Height}" : $"{receipt.Code}: {receipt.Message}");

    public string Summary() => Passed
        ? $"scenario {name}: all {_expectations.Count} expectations held"
        : $"scenario {name}: {Failed} of {_expectations.Count} expectations FAILED; first: {_expectations.First(e => !e.Held).What}";
}

/// <summary>Submits signed transactions through one node and waits for their receipts.</summary>
internal sealed class LedgerSession(CustosClient client, TimeSpan commitTimeout) : IDisposable
{
    public CustosClient Client => client;

    public async Task<ulong> ExpiryAsync(CancellationToken cancellationToken) => (await client.StatusAsync(cancellationToken)).Height + 1_000;

    /// <summary>Signs, submits and waits for the commit; an admission refusal comes back as a receipt with its code.</summary>
    public async Task<Receipt> CommitAsync(TransactionSigner signer, string contract, string method, IMessage arguments, CancellationToken cancellationToken)
    {
        var transaction = signer.Sign(contract, 1, method, arguments, await ExpiryAsync(cancellationToken));
        return (await CommitAllAsync([transaction], cancellationToken))[0];
    }

    /// <summary>Submits one signed transaction and waits for its receipt.</summary>
    public async Task<Receipt> CommitRawAsync(SignedTransaction transaction, CancellationToken cancellationToken) =>
        (await CommitAllAsync([transaction], cancellationToken))[0];

    /// <summary>
    /// Reads state as committed by the block at <paramref name="height"/>, proven like any light-client read: a state
    /// version is certified by the QC its child block carries, so this waits (bounded) for that child.
    /// </summary>
    public async Task<VerifiedState> ReadVerifiedAtAsync(byte[] key, ulong height, CancellationToken cancellationToken)
    {
        for (var wait = DateTime.UtcNow + TimeSpan.FromSeconds(30); (await client.StatusAsync(cancellationToken)).Height <= height; await Task.Delay(100, cancellationToken))
        {
            if (DateTime.UtcNow > wait) throw new CustosException(ErrorCode.NotFound, $"no block above height {height} within 30 s");
        }

        return await client.ReadVerifiedStateAsync(key, height, cancellationToken);
    }

    /// <summary>Submits a batch and waits for every receipt, in the order given.</summary>
    public async Task<IReadOnlyList<Receipt>> CommitAllAsync(IReadOnlyList<SignedTransaction> transactions, CancellationToken cancellationToken)
    {
        var receipts = new Receipt[transactions.Count];
        var admitted = new List<int>();
        for (var offset = 0; offset < transactions.Count; offset += 500)
        {
            var chunk = transactions.Skip(offset).Take(500).ToList();
            var results = await client.SubmitAsync(chunk, cancellationToken);
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i].Code == ErrorCode.Ok) admitted.Add(offset + i);
                else receipts[offset + i] = new Receipt { TransactionId = chunk[i].Id.ToByteString(), Code = results[i].Code, Message = $"refused at admission: {results[i].Message}" };
            }
        }

        foreach (var index in admitted)
        {
            var status = await client.WaitForCommitAsync(transactions[index].Id, commitTimeout, cancellationToken);
            receipts[index] = status.Receipt ?? throw new CustosException(ErrorCode.NotFound, $"transaction {transactions[index].Id.ToShortString()} not committed within {commitTimeout.TotalSeconds:0} s");
        }

        return receipts;
    }

    public void Dispose() => client.Dispose();
}

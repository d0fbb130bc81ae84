using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Custos.Execution.Tests;

/// <summary>Certificates revoked by governance (ConsortiumRegistry.Revoke) stop their keys at the executor.</summary>
public sealed class RevocationTests
{
    private const int Alice = 1, Bob = 2;

    /// <summary>Stands in for the governance contract's revoke_certificate: the executor's check is under test here.</summary>
    private sealed class RevokingContract : ISystemContract
    {
        public string Name => "test.revoke";

        public uint Version => 1;

        public void Invoke(ContractCall call) => ConsortiumRegistry.Revoke(call, new RevokedCertificate
        {
            Serial = "0A1B",
            PublicKey = call.ParseArguments(BytesValue.Parser).Value,
            Reason = "key compromised",
            Proposal = "test",
        });
    }

    private static Ledger NewLedger() => new(CryptoSuites.Intl, 3, 1_000, contracts: [.. BlockExecutor.StandardContracts, new RevokingContract()]);

    [Fact]
    public void Transactions_signed_with_a_revoked_key_are_refused_and_change_nothing()
    {
        var ledger = NewLedger();
        var aliceKey = ByteString.CopyFrom(ledger.Keys[Alice].PublicKey.ToArray());
        Assert.Equal(ErrorCode.Ok, Assert.Single(ledger.Execute(ledger.Transfer(Alice, Bob, 10)).Receipts).Code);

        Assert.Equal(ErrorCode.Ok, Assert.Single(ledger.Execute(ledger.Sign(0, "test.revoke", "revoke", new BytesValue { Value = aliceKey })).Receipts).Code);
        var refused = Assert.Single(ledger.Execute(ledger.Transfer(Alice, Bob, 10, nonce: 2)).Receipts);

        Assert.Equal(ErrorCode.CertificateRevoked, refused.Code);
        Assert.Contains("0A1B", refused.Message);
        Assert.Equal(990UL, ledger.Balance(Alice));
        Assert.Equal(ErrorCode.Ok, Assert.Single(ledger.Execute(ledger.Transfer(Bob, Alice, 5)).Receipts).Code);
        Assert.NotNull(ConsortiumRegistry.LoadRevocation(ledger, aliceKey.Span));
    }

    [Fact]
    public void Revocation_takes_effect_for_the_rest_of_the_same_block()
    {
        var ledger = NewLedger();
        var aliceKey = ByteString.CopyFrom(ledger.Keys[Alice].PublicKey.ToArray());

        var receipts = ledger.Execute(
            ledger.Sign(0, "test.revoke", "revoke", new BytesValue { Value = aliceKey }),
            ledger.Transfer(Alice, Bob, 10)).Receipts;

        Assert.Equal(ErrorCode.Ok, receipts[0].Code);
        Assert.Equal(ErrorCode.CertificateRevoked, receipts[1].Code);
        Assert.Equal(1_000UL, ledger.Balance(Alice));
    }

    [Fact]
    public void A_certificate_cannot_be_revoked_twice()
    {
        var ledger = NewLedger();
        var aliceKey = ByteString.CopyFrom(ledger.Keys[Alice].PublicKey.ToArray());
        Assert.Equal(ErrorCode.Ok, Assert.Single(ledger.Execute(ledger.Sign(0, "test.revoke", "revoke", new BytesValue { Value = aliceKey })).Receipts).Code);
        Assert.Equal(ErrorCode.CertificateRevoked, Assert.Single(ledger.Execute(ledger.Sign(0, "test.revoke", "revoke", new BytesValue { Value = aliceKey }, nonce: 2)).Receipts).Code);
    }
}

using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Policy;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Tests;

/// <summary>
/// system.privacy / commit through the real executor. Account 0 is org1's special-privilege account (it designates
/// itself and sets the policy); 1 is org1, 2 org2, 3 org3. The policy entitles org1 and org2 to dcep/kyc.
/// </summary>
public sealed class PrivateDataCommitmentTests
{
    private const string Contract = PrivacyPolicyContract.ContractName;
    private static readonly byte[] RecordKey = "customer/0001"u8.ToArray();
    private readonly Ledger _ledger = new(CryptoSuites.Gm, accounts: 4, balance: 0,
        contracts: [.. BlockExecutor.StandardContracts, new PrivacyPolicyContract()],
        accountOf: i => (i switch { 0 or 1 => "org1", 2 => "org2", _ => "org3" }, i == 0 ? AccountType.SpecialPrivilege : AccountType.Ordinary));

    private ulong _nonce;

    public PrivateDataCommitmentTests()
    {
        Assert.Equal(ErrorCode.Ok, Call(0, "designate", new PrivacyDesignateArguments { Reason = "privacy officer" }).Code);
        var policy = PrivacyPolicy.Default.Record.Clone();
        policy.Version = 1;
        var kyc = new CollectionEntitlement { Contract = "dcep", Collection = "kyc" };
        kyc.Organisations.AddRange(["org1", "org2"]);
        policy.Collections.Add(kyc);
        Assert.Equal(ErrorCode.Ok, Call(0, "set_policy", new PrivacySetPolicyArguments { Policy = policy, Reason = "KYC to both operators" }).Code);
    }

    private Receipt Call(int from, string method, IMessage arguments) =>
        Assert.Single(_ledger.Execute(_ledger.Sign(from, Contract, method, arguments, nonce: ++_nonce)).Receipts);

    private static Hash32 NewCommitment(string value) => Commitment.Compute(CryptoSuites.Gm, Commitment.NewSalt(), System.Text.Encoding.UTF8.GetBytes(value));

    private static PrivacyCommitArguments Commit(Hash32 commitment, Hash32? previous = null, string collection = "kyc", byte[]? key = null) => new()
    {
        Contract = "dcep",
        Collection = collection,
        Key = ByteString.CopyFrom(key ?? RecordKey),
        Commitment = commitment.ToByteString(),
        PreviousCommitment = previous?.ToByteString() ?? ByteString.Empty,
    };

    private PrivateDataCommitment? OnChain() => PrivacyPolicyContract.ReadCommitment(_ledger, "dcep", "kyc", RecordKey);

    [Fact]
    public void An_account_of_an_entitled_organisation_commits_and_the_chain_holds_the_commitment_with_who_and_when()
    {
        var commitment = NewCommitment("张三");

        var receipt = Call(2, "commit", Commit(commitment));

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        var held = OnChain()!;
        Assert.Equal(commitment.ToByteString(), held.Commitment);
        Assert.Equal(1ul, held.Version);
        Assert.Equal("org2", held.Organisation);
        Assert.Equal(_ledger.Ids[2].ToByteString(), held.By);
        Assert.Equal(_ledger.Height, held.Height);
    }

    [Fact]
    public void An_account_of_an_organisation_the_policy_does_not_entitle_is_refused_and_nothing_changes()
    {
        Assert.Equal(ErrorCode.NotEntitled, Call(3, "commit", Commit(NewCommitment("张三"))).Code);
        Assert.Null(OnChain());
    }

    [Fact]
    public void A_collection_the_policy_does_not_name_is_refused()
    {
        Assert.Equal(ErrorCode.NotEntitled, Call(1, "commit", Commit(NewCommitment("x"), collection: "other")).Code);
        Assert.Null(PrivacyPolicyContract.ReadCommitment(_ledger, "dcep", "other", RecordKey));
    }

    [Fact]
    public void A_later_commit_replaces_the_commitment_only_when_it_names_the_one_on_chain()
    {
        var first = NewCommitment("v1");
        var second = NewCommitment("v2");
        Assert.Equal(ErrorCode.Ok, Call(1, "commit", Commit(first)).Code);

        // Naming nothing, or a commitment that is not the current one, is a stale write.
        Assert.Equal(ErrorCode.CommitmentMismatch, Call(2, "commit", Commit(second)).Code);
        Assert.Equal(ErrorCode.CommitmentMismatch, Call(2, "commit", Commit(second, previous: NewCommitment("v0"))).Code);
        Assert.Equal(first.ToByteString(), OnChain()!.Commitment);

        Assert.Equal(ErrorCode.Ok, Call(2, "commit", Commit(second, previous: first)).Code);
        Assert.Equal(second.ToByteString(), OnChain()!.Commitment);
        Assert.Equal(2ul, OnChain()!.Version);
        Assert.Equal(ErrorCode.CommitmentMismatch, Call(1, "commit", Commit(NewCommitment("v3"), previous: first)).Code);
    }

    [Fact]
    public void A_first_commit_that_names_a_previous_commitment_is_refused()
    {
        Assert.Equal(ErrorCode.CommitmentMismatch, Call(1, "commit", Commit(NewCommitment("v1"), previous: NewCommitment("v0"))).Code);
        Assert.Null(OnChain());
    }

    [Fact]
    public void Malformed_commit_arguments_are_refused_with_typed_errors()
    {
        var good = Commit(NewCommitment("v1"));
        var shortCommitment = good.Clone();
        shortCommitment.Commitment = ByteString.CopyFrom(new byte[31]);
        var noKey = good.Clone();
        noKey.Key = ByteString.Empty;
        var longKey = good.Clone();
        longKey.Key = ByteString.CopyFrom(new byte[PrivateData.PrivateDataStore.KeySizeBytesMax + 1]);
        var badPrevious = good.Clone();
        badPrevious.PreviousCommitment = ByteString.CopyFrom(new byte[5]);
        var noContract = good.Clone();
        noContract.Contract = "";

        foreach (var arguments in new[] { shortCommitment, noKey, longKey, badPrevious, noContract })
        {
            Assert.Equal(ErrorCode.InvalidArguments, Call(1, "commit", arguments).Code);
        }

        Assert.Null(OnChain());
    }

    [Fact]
    public void Committing_the_commitment_already_on_chain_is_refused()
    {
        var first = NewCommitment("v1");
        Assert.Equal(ErrorCode.Ok, Call(1, "commit", Commit(first)).Code);
        Assert.Equal(ErrorCode.InvalidArguments, Call(1, "commit", Commit(first, previous: first)).Code);
        Assert.Equal(1ul, OnChain()!.Version);
    }

    [Fact]
    public void The_commitment_key_is_frozen()
    {
        // Format: system.privacy ‖ 0 ‖ "commitment/" ‖ (u32 BE length ‖ bytes) for contract, collection and key.
        var expected = "system.privacy\0commitment/"u8.ToArray()
            .Concat(new byte[] { 0, 0, 0, 4 }).Concat("dcep"u8.ToArray())
            .Concat(new byte[] { 0, 0, 0, 3 }).Concat("kyc"u8.ToArray())
            .Concat(new byte[] { 0, 0, 0, 2, 0xAB, 0xCD }).ToArray();
        Assert.Equal(expected, PrivacyPolicyContract.CommitmentKey("dcep", "kyc", [0xAB, 0xCD]));
    }
}

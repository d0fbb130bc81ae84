using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Privacy.Policy;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Tests;

/// <summary>system.privacy run through the real executor. Accounts 0 and 3 are special-privilege; 1 and 2 ordinary.</summary>
public sealed class PrivacyPolicyContractTests
{
    private const string Contract = PrivacyPolicyContract.ContractName;
    private readonly Ledger _ledger = new(CryptoSuites.Gm, accounts: 4, balance: 0,
        contracts: [.. BlockExecutor.StandardContracts, new PrivacyPolicyContract()],
        accountOf: i => (i % 2 == 0 ? "org1" : "org2", i is 0 or 3 ? AccountType.SpecialPrivilege : AccountType.Ordinary));

    private ulong _nonce;

    private Receipt Call(int from, string method, IMessage arguments) =>
        Assert.Single(_ledger.Execute(_ledger.Sign(from, Contract, method, arguments, nonce: ++_nonce)).Receipts);

    private PrivacyDesignateArguments Designate(int? account = null) =>
        new() { Account = account is { } i ? _ledger.Ids[i].ToByteString() : ByteString.Empty, Reason = "privacy officer appointed" };

    private static PrivacySetPolicyArguments NewPolicy(ulong version, PrivacyStrategy c1 = PrivacyStrategy.Public, PrivacyStrategy c3 = PrivacyStrategy.DesignatedNodes)
    {
        var policy = new PrivacyPolicyRecord { Version = version };
        // Out of order on purpose: the contract stores the canonical form.
        policy.Strategies.Add(new ClassStrategy { DataClass = DataClass.C3, Strategy = c3 });
        policy.Strategies.Add(new ClassStrategy { DataClass = DataClass.C1, Strategy = c1 });
        policy.Strategies.Add(new ClassStrategy { DataClass = DataClass.C2, Strategy = PrivacyStrategy.Encrypted });
        var kyc = new CollectionEntitlement { Contract = "dcep", Collection = "kyc" };
        kyc.Organisations.AddRange(["org2", "org1"]);
        policy.Collections.Add(kyc);
        return new PrivacySetPolicyArguments { Policy = policy, Reason = "entitle both operators to KYC data" };
    }

    [Fact]
    public void Before_any_change_the_default_policy_is_in_force_and_no_one_is_designated()
    {
        Assert.Null(PrivacyPolicyContract.ReadDesignated(_ledger));
        Assert.Equal(0ul, PrivacyPolicy.Read(_ledger).Version);
        Assert.Equal(PrivacyStrategy.DesignatedNodes, PrivacyPolicy.Read(_ledger).StrategyFor(DataClass.C3));
    }

    [Fact]
    public void An_ordinary_account_cannot_designate_the_first_privacy_account()
    {
        Assert.Equal(ErrorCode.NotAuthorised, Call(1, "designate", Designate()).Code);
        Assert.Null(PrivacyPolicyContract.ReadDesignated(_ledger));
    }

    [Fact]
    public void The_first_special_privilege_setup_call_designates_the_account()
    {
        Assert.Equal(ErrorCode.Ok, Call(0, "designate", Designate(account: 2)).Code);
        Assert.Equal(_ledger.Ids[2], PrivacyPolicyContract.ReadDesignated(_ledger));
    }

    [Fact]
    public void Only_the_designated_account_changes_the_policy()
    {
        Assert.Equal(ErrorCode.NotAuthorised, Call(0, "set_policy", NewPolicy(1)).Code);
        Assert.Equal(ErrorCode.Ok, Call(0, "designate", Designate(account: 2)).Code);

        // Neither the account that designated it, nor another special-privilege account, nor an ordinary one.
        foreach (var outsider in new[] { 0, 1, 3 }) Assert.Equal(ErrorCode.NotAuthorised, Call(outsider, "set_policy", NewPolicy(1)).Code);
        Assert.Equal(ErrorCode.NotAuthorised, Call(3, "designate", Designate(account: 3)).Code);
        Assert.Equal(0ul, PrivacyPolicy.Read(_ledger).Version);

        var receipt = Call(2, "set_policy", NewPolicy(1));
        Assert.Equal(ErrorCode.Ok, receipt.Code);
        var policy = PrivacyPolicy.Read(_ledger);
        Assert.Equal(1ul, policy.Version);
        Assert.Equal(["org1", "org2"], policy.EntitledOrganisations("dcep", "kyc"));
        Assert.False(policy.IsEntitled("org3", "dcep", "kyc"));
    }

    [Fact]
    public void Every_change_is_recorded_with_who_when_and_why()
    {
        Call(0, "designate", Designate(account: 2));
        Call(2, "set_policy", NewPolicy(1));
        Call(2, "set_policy", NewPolicy(2, c1: PrivacyStrategy.Encrypted));

        Assert.Equal(3ul, PrivacyPolicyContract.ReadChangeCount(_ledger));
        var designation = PrivacyPolicyContract.ReadChange(_ledger, 1)!;
        Assert.Equal("designate", designation.Method);
        Assert.Equal(_ledger.Ids[0].ToByteString(), designation.By);
        Assert.Equal(_ledger.Ids[2].ToByteString(), designation.Designated);
        var last = PrivacyPolicyContract.ReadChange(_ledger, 3)!;
        Assert.Equal("set_policy", last.Method);
        Assert.Equal(_ledger.Ids[2].ToByteString(), last.By);
        Assert.Equal(_ledger.Height, last.Height);
        Assert.Equal("entitle both operators to KYC data", last.Reason);
        Assert.Equal(2ul, last.Policy.Version);
        Assert.Equal(PrivacyStrategy.Encrypted, PrivacyPolicy.Read(_ledger).StrategyFor(DataClass.C1));
    }

    [Fact]
    public void A_policy_that_makes_authentication_data_public_is_refused()
    {
        Call(0, "designate", Designate());
        var receipt = Call(0, "set_policy", NewPolicy(1, c3: PrivacyStrategy.Public));
        Assert.Equal(ErrorCode.InvalidArguments, receipt.Code);
        Assert.Equal(0ul, PrivacyPolicy.Read(_ledger).Version);
    }

    [Fact]
    public void A_policy_with_a_stale_version_is_refused()
    {
        Call(0, "designate", Designate());
        Assert.Equal(ErrorCode.Ok, Call(0, "set_policy", NewPolicy(1)).Code);
        Assert.Equal(ErrorCode.InvalidArguments, Call(0, "set_policy", NewPolicy(1)).Code);
    }

    [Fact]
    public void The_designated_account_hands_its_role_over()
    {
        Call(0, "designate", Designate());
        Assert.Equal(ErrorCode.Ok, Call(0, "designate", Designate(account: 1)).Code);
        Assert.Equal(ErrorCode.NotAuthorised, Call(0, "set_policy", NewPolicy(1)).Code);
        Assert.Equal(ErrorCode.Ok, Call(1, "set_policy", NewPolicy(1)).Code);
    }
}

using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Execution.Tests;

/// <summary>
/// Pseudonym registration under the regulator's escrow policy and identity opening on chain, with the real
/// credential library: the contract records the case and approvals, the requester opens off chain.
/// </summary>
public sealed class IdentityOpeningContractTests
{
    private const int CentralBank = 0, Bob = 2, Regulator = 3, Org2Registrar = 5;
    private static readonly int[] Authorities = [Regulator, Org2Registrar, CentralBank];
    private static readonly AccountId Pseudonym = new(7, 7);

    private static readonly RealIdentity Person = new()
    {
        LegalName = "Li Wei", DocumentType = IdentityDocumentType.ResidentIdentityCard, DocumentNumber = "110101199003077777",
        IssuingCountry = "CN", DateOfBirth = "1990-03-07", CustomerReference = "ORG2-KYC-000117",
    };

    private static ErrorCode Run(Ledger ledger, Transaction transaction) => Assert.Single(ledger.Execute(transaction).Receipts).Code;

    private static EscrowPolicy Policy(Ledger ledger, uint threshold) => new()
    {
        Threshold = threshold,
        Authorities = { Authorities.Select(i => ledger.Ids[i].ToByteString()) },
        AuthorityPublicKeys = { Authorities.Select(i => ByteString.CopyFrom(ledger.Keys[i].PublicKey.Encoded)) },
        Decision = new SupervisionDecision { Reason = "escrow policy 2026" },
    };

    private static DecodedCredential Issue(Ledger ledger, int registrar, SoftwareKey pseudonymKey, uint threshold = 2) =>
        new PseudonymRegistrar(ledger.Suite, ledger.Keys[registrar], Ledger.ChainId, registrar == CentralBank ? "org1" : "org2").Issue(
            pseudonymKey.PublicKey, Person,
            IdentityEscrowPolicy.Of(threshold, Authorities.Select(i => ($"authority{i}", ledger.Keys[i].PublicKey))),
            CredentialValidity.Unbounded);

    private static Transaction Register(Ledger ledger, DecodedCredential credential, AccountId? account = null, ulong nonce = 1) =>
        ledger.Sign(Org2Registrar, SupervisionContract.ContractName, "register_pseudonym",
            new RegisterPseudonymArguments { AccountId = (account ?? Pseudonym).ToByteString(), Credential = ByteString.CopyFrom(credential.Bytes.Span) }, nonce);

    private static Ledger WithPolicy(uint threshold = 2)
    {
        var ledger = SupervisionContractTests.NewLedger();
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Sign(Regulator, SupervisionContract.ContractName, "set_escrow_policy", Policy(ledger, threshold), nonce: 100)));
        return ledger;
    }

    [Fact]
    public void Registrar_registers_a_pseudonym_whose_key_then_transacts()
    {
        var ledger = WithPolicy();
        var pseudonymKey = ledger.Suite.GenerateKey();
        var credential = Issue(ledger, Org2Registrar, pseudonymKey);

        Assert.Equal(ErrorCode.Ok, Run(ledger, Register(ledger, credential)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Sign(CentralBank, TokenContract.ContractName, "mint", new MintArguments { To = Pseudonym.ToByteString(), Amount = 50 })));
        var pay = ledger.Sign(0, TokenContract.ContractName, "transfer", new TransferArguments { To = ledger.Ids[Bob].ToByteString(), Amount = 20 }, key: pseudonymKey, sender: Pseudonym);

        Assert.Equal(ErrorCode.Ok, Run(ledger, pay));
        Assert.Equal(30UL, TokenContract.ReadBalance(ledger, Pseudonym));
        var record = AccountRegistry.Load(ledger, Pseudonym)!;
        Assert.Equal(credential.Id.ToByteString(), record.CredentialId);
        Assert.Equal(credential.Bytes.ToArray(), SupervisionContract.ReadCredential(ledger, credential.Id));
    }

    [Fact]
    public void A_credential_altered_signed_by_another_registrar_or_off_policy_is_refused()
    {
        var ledger = WithPolicy();
        var key = ledger.Suite.GenerateKey();
        var altered = Issue(ledger, Org2Registrar, key).Bytes.ToArray();
        altered[altered.Length / 2] ^= 1;
        var foreign = Issue(ledger, CentralBank, key);
        var offPolicy = Issue(ledger, Org2Registrar, key, threshold: 1);

        var refusals = new[]
        {
            ledger.Sign(Org2Registrar, SupervisionContract.ContractName, "register_pseudonym",
                new RegisterPseudonymArguments { AccountId = Pseudonym.ToByteString(), Credential = ByteString.CopyFrom(altered) }, 1),
            Register(ledger, foreign, nonce: 2),
            Register(ledger, offPolicy, nonce: 3),
        }.Select(t => Run(ledger, t));

        Assert.All(refusals, code => Assert.Equal(ErrorCode.CredentialInvalid, code));
        Assert.Null(AccountRegistry.Load(ledger, Pseudonym));
    }

    [Fact]
    public void Identity_opens_only_with_threshold_approvals_and_every_step_is_recorded()
    {
        var ledger = WithPolicy();
        var credential = Issue(ledger, Org2Registrar, ledger.Suite.GenerateKey());
        Assert.Equal(ErrorCode.Ok, Run(ledger, Register(ledger, credential)));
        var requester = ledger.Keys[Regulator];
        var request = new OpeningRequest
        {
            CaseReference = "CASE-2026-041", LegalBasis = "Anti-Money Laundering Law art. 35", Pseudonym = Pseudonym.ToByteString(),
            RequesterPublicKey = ByteString.CopyFrom(requester.PublicKey.Encoded),
        };

        Assert.Equal(ErrorCode.NotAuthorised, Run(ledger, ledger.Sign(Bob, SupervisionContract.ContractName, "request_opening", request)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Sign(Regulator, SupervisionContract.ContractName, "request_opening", request)));
        Assert.Equal(ErrorCode.CaseReferenceReused, Run(ledger, ledger.Sign(Regulator, SupervisionContract.ContractName, "request_opening", request, nonce: 2)));

        ReleasedShare Release(int authority) =>
            ShareRelease.TryRelease(ledger.Suite, ledger.Keys[authority].AsDecryptionKey(), credential, request.CaseReference, requester.PublicKey, out var share, out var error)
                ? share : throw error.ToException();
        Transaction Approve(int from, uint index, ReleasedShare share, ulong nonce = 1) => ledger.Sign(from, SupervisionContract.ContractName, "approve_opening",
            new ApproveOpeningArguments { CaseReference = request.CaseReference, AuthorityIndex = index, ReleasedShare = share.ToByteString() }, nonce);

        // A forged approval: an account that is not the named authority, even carrying a genuine share.
        Assert.Equal(ErrorCode.ApprovalInvalid, Run(ledger, Approve(Bob, 0, Release(Regulator))));
        Assert.Equal(ErrorCode.Ok, Run(ledger, Approve(Regulator, 0, Release(Regulator), nonce: 3)));
        Assert.Equal(ErrorCode.ApprovalInvalid, Run(ledger, Approve(Regulator, 0, Release(Regulator), nonce: 4)));

        var afterOne = SupervisionContract.ReadOpening(ledger, request.CaseReference)!;
        Assert.False(afterOne.Approved);
        Assert.False(IdentityOpening.TryOpen(ledger.Suite, requester.AsDecryptionKey(), credential, request.CaseReference,
            afterOne.Approvals.Select(a => a.ReleasedShare.Memory), out _, out var tooFew));
        Assert.Equal(ErrorCode.ApprovalsInsufficient, tooFew.Code);

        Assert.Equal(ErrorCode.Ok, Run(ledger, Approve(Org2Registrar, 1, Release(Org2Registrar))));
        var opening = SupervisionContract.ReadOpening(ledger, request.CaseReference)!;
        Assert.True(opening.Approved);
        Assert.Equal(ledger.Ids[Regulator].ToByteString(), opening.Requester);
        Assert.Equal([0u, 1u], opening.Approvals.Select(a => a.AuthorityIndex));
        Assert.True(IdentityOpening.TryOpen(ledger.Suite, requester.AsDecryptionKey(), credential, request.CaseReference,
            opening.Approvals.Select(a => a.ReleasedShare.Memory), out var opened, out var error), error?.Message);
        Assert.Equal(Person, opened.Identity);
    }
}

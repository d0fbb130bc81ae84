using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Privacy.Classification;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.DigitalCurrency;

/// <summary>
/// Wallets (DC-2, DC-3): an operator opens a wallet for a pseudonym its own organisation registered with supervision,
/// so that the chain sees only the pseudonym while the operator knows the customer and the escrow lets the
/// supervisor open the identity. Classes 1 to 3 carry the operator's real-name attestation; class 4 is anonymous.
/// </summary>
public sealed partial class DigitalCurrencyContract
{
    public const int IdentityAttestationSizeBytes = 32;

    private static void OpenWallet(ContractCall call)
    {
        var arguments = call.ParseArguments(OpenWalletArguments.Parser);
        var operatorRecord = RequireOperatorAdministrator(call);
        var account = ContractCall.ParseAccount(arguments.Account, "account");
        RequireClass(arguments.WalletClass);
        RequireAttestation(call, account, arguments.WalletClass, arguments.IdentityAttestation);
        var state = new CallState(call);
        var accountRecord = AccountRegistry.Load(state, account) ?? throw new ContractFailure(ErrorCode.SenderUnknown, $"account {account} is not registered");
        AccountRegistry.RequireMayReceive(accountRecord, call.Block.Height);
        if (call.Get(WalletKey(account)) is not null) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {account} holds a wallet already");
        if (call.Get(SettlementKey(account)) is not null) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {account} is an operator's settlement account");

        // The wallet's pseudonym must be the one supervision registered for this account under this credential, by
        // this operator: that is what lets the supervisor open it and the operator answer for its customer.
        if (!Hash32.TryCreate(arguments.CredentialId.Span, out var credentialId)) throw new ContractFailure(ErrorCode.InvalidArguments, "credential_id is not a 32-byte id");
        if (SupervisionContract.ReadCredential(state, credentialId) is null) throw new ContractFailure(ErrorCode.CredentialInvalid, $"credential {credentialId.ToShortString()} is not registered with supervision");
        var pseudonym = SupervisionContract.ReadPseudonym(state, account);
        if (pseudonym is null || pseudonym.CredentialId != arguments.CredentialId)
        {
            throw new ContractFailure(ErrorCode.CredentialInvalid, $"account {account} is not the pseudonym registered under credential {credentialId.ToShortString()}");
        }

        if (pseudonym.RegistrarOrganisation != operatorRecord.Organisation)
        {
            throw new ContractFailure(ErrorCode.NotAuthorised, $"pseudonym {account} was registered by {pseudonym.RegistrarOrganisation}; only that operator opens its wallet");
        }

        var wallet = new WalletRecord
        {
            Account = arguments.Account,
            Operator = operatorRecord.Organisation,
            WalletClass = arguments.WalletClass,
            CredentialId = arguments.CredentialId,
            IdentityAttestation = arguments.IdentityAttestation,
            OpenedHeight = call.Block.Height,
        };
        if (!arguments.Parent.IsEmpty) AttachToParent(call, wallet, ContractCall.ParseAccount(arguments.Parent, "parent"));
        call.Put(WalletKey(account), wallet.ToByteArray());
        operatorRecord.Wallets++;
        call.Put(OperatorKey(operatorRecord.Organisation), operatorRecord.ToByteArray());
        var totals = LoadTotals(call);
        totals.Wallets++;
        SaveTotals(call, totals);
        call.Emit("wallet_opened", wallet);
    }

    /// <summary>
    /// A sub-wallet hangs under a wallet of the same operator, one level deep, at most as strong a class as its
    /// parent; its payments count against its own caps and its parent's (docs/digital-currency.md).
    /// </summary>
    private static void AttachToParent(ContractCall call, WalletRecord wallet, AccountId parentAccount)
    {
        var parent = LoadWallet(call, parentAccount);
        if (parent.Operator != wallet.Operator) throw new ContractFailure(ErrorCode.InvalidArguments, $"parent wallet {parentAccount} is held at {parent.Operator}, not {wallet.Operator}");
        if (!parent.Parent.IsEmpty) throw new ContractFailure(ErrorCode.InvalidArguments, $"wallet {parentAccount} is a sub-wallet; sub-wallets have no sub-wallets");
        if (wallet.WalletClass < parent.WalletClass) throw new ContractFailure(ErrorCode.InvalidArguments, $"a sub-wallet's class ({wallet.WalletClass}) is not stronger than its parent's ({parent.WalletClass})");
        if (parent.SubWallets >= SubWalletsMax) throw new ContractFailure(ErrorCode.LimitExceeded, $"wallet {parentAccount} has {SubWalletsMax} sub-wallets, the most allowed");
        parent.SubWallets++;
        call.Put(WalletKey(parentAccount), parent.ToByteArray());
        wallet.Parent = parentAccount.ToByteString();
    }

    private static void UpgradeWallet(ContractCall call)
    {
        var arguments = call.ParseArguments(UpgradeWalletArguments.Parser);
        var account = ContractCall.ParseAccount(arguments.Account, "account");
        var wallet = LoadWallet(call, account);
        if (!IsOperatorAdministrator(call, wallet.Operator)) throw new ContractFailure(ErrorCode.NotAuthorised, $"only an administrator of {wallet.Operator} changes the class of its wallets");
        RequireClass(arguments.WalletClass);
        if (arguments.WalletClass >= wallet.WalletClass)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"an upgrade goes to a stronger class (a smaller number than {wallet.WalletClass})");
        }

        // A class 4 wallet had no identity attestation: the upgrade brings it; a stronger wallet may keep its own.
        var attestation = arguments.IdentityAttestation.IsEmpty ? wallet.IdentityAttestation : arguments.IdentityAttestation;
        RequireAttestation(call, account, arguments.WalletClass, attestation);
        if (!wallet.Parent.IsEmpty && LoadWallet(call, new AccountId(wallet.Parent.Span)).WalletClass > arguments.WalletClass)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "a sub-wallet is not upgraded past its parent's class");
        }

        var previous = wallet.WalletClass;
        wallet.WalletClass = arguments.WalletClass;
        wallet.IdentityAttestation = attestation;
        wallet.ClassChangedHeight = call.Block.Height;
        call.Put(WalletKey(account), wallet.ToByteArray());
        call.Emit("wallet_upgraded", new WalletUpgradeEvent { Account = arguments.Account, PreviousClass = previous, WalletClass = arguments.WalletClass });
    }

    private static OperatorRecord RequireOperatorAdministrator(ContractCall call)
    {
        if (call.Caller.Type == AccountType.Administrator && call.Get(OperatorKey(call.Caller.Organisation)) is { } bytes
            && ConsortiumRegistry.IsMemberAdministrator(new CallState(call), call.Caller))
        {
            return OperatorRecord.Parser.ParseFrom(bytes);
        }

        throw new ContractFailure(ErrorCode.NotAuthorised, "only an administrator of an operating institution opens wallets");
    }

    private static WalletRecord LoadWallet(ContractCall call, AccountId account) =>
        call.Get(WalletKey(account)) is { } bytes ? WalletRecord.Parser.ParseFrom(bytes) : throw new ContractFailure(ErrorCode.WalletNotFound, $"account {account} holds no wallet");

    private static void RequireClass(uint walletClass)
    {
        if (!CurrencyParameters.IsClass(walletClass)) throw new ContractFailure(ErrorCode.InvalidArguments, $"wallet class {walletClass} is not 1 to 4");
    }

    /// <summary>
    /// Classes 1 to 3 carry the operator's customer record, class C3 (field <c>wallet.customer_record</c>): the
    /// privacy policy decides its mechanism, by default designated nodes, so the chain takes only its 32-byte salted
    /// commitment while the record stays at the nodes of the organisations entitled to collection <c>dcep/kyc</c>.
    /// </summary>
    private static void RequireAttestation(ContractCall call, AccountId account, uint walletClass, ByteString attestation)
    {
        if (walletClass == CurrencyParameters.WeakestClass)
        {
            if (!attestation.IsEmpty) throw new ContractFailure(ErrorCode.InvalidArguments, "a class 4 wallet is anonymous: it carries no identity attestation");
            return;
        }

        if (attestation.IsEmpty)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"a class {walletClass} wallet needs the operator's {IdentityAttestationSizeBytes}-byte real-name attestation");
        }

        PrivacyGuard.Admit(call, new CallState(call), Privacy, "wallet.customer_record", WalletKey(account), attestation.Span);
    }
}

using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Custos.Core.Tests;

/// <summary>
/// Freezes the wire format. Every table and hex string below was computed once and then checked independently:
/// the encodings against <c>protoc --encode</c> of the same objects written in text format, the prefixes against
/// <c>printf 'custos/v1/&lt;type&gt;\0'</c>, the hashes against <c>openssl dgst -sm3 / -sha256</c> and the Merkle
/// roots against a separate Python implementation of RFC 6962 §2.1 with the Custos domains.
/// <para>
/// If one of these tests fails, the change you made alters bytes that are signed, hashed or stored: it is a
/// FORMAT CHANGE. Nodes running the old and new code would disagree on transaction ids, block hashes and
/// signatures. Update the table only together with a format version bump and a migration note.
/// </para>
/// </summary>
public sealed class GoldenEncodingTests
{
    private static readonly (string Name, int Number)[] CryptoSuiteIdValues =
    [
        ("CRYPTO_SUITE_ID_UNSPECIFIED", 0),
        ("CRYPTO_SUITE_ID_GM", 1),
        ("CRYPTO_SUITE_ID_INTL", 2),
    ];

    private static readonly (string Name, int Number)[] ObjectTypeValues =
    [
        ("OBJECT_TYPE_UNSPECIFIED", 0),
        ("OBJECT_TYPE_TRANSACTION", 1),
        ("OBJECT_TYPE_BLOCK_HEADER", 2),
        ("OBJECT_TYPE_VOTE", 3),
        ("OBJECT_TYPE_QUORUM_CERTIFICATE", 4),
        ("OBJECT_TYPE_TIMEOUT", 5),
        ("OBJECT_TYPE_TIMEOUT_CERTIFICATE", 6),
        ("OBJECT_TYPE_PROPOSAL", 7),
        ("OBJECT_TYPE_BLOCK", 8),
        ("OBJECT_TYPE_CERTIFICATE", 9),
        ("OBJECT_TYPE_GENESIS", 10),
        ("OBJECT_TYPE_TRANSACTION_BATCH", 11),
        ("OBJECT_TYPE_MERKLE_LEAF", 12),
        ("OBJECT_TYPE_MERKLE_NODE", 13),
        ("OBJECT_TYPE_PSEUDONYM_CREDENTIAL", 14),
        ("OBJECT_TYPE_PSEUDONYM_ESCROW", 15),
        ("OBJECT_TYPE_ESCROW_SHARE", 16),
        ("OBJECT_TYPE_RELEASED_SHARE", 17),
        ("OBJECT_TYPE_AUDIT_REPORT", 18),
    ];

    private static readonly (string Name, int Number)[] ErrorCodeValues =
    [
        ("ERROR_CODE_OK", 0),
        ("ERROR_CODE_MALFORMED", 100),
        ("ERROR_CODE_TOO_LARGE", 101),
        ("ERROR_CODE_INVALID_LENGTH", 102),
        ("ERROR_CODE_INVALID_FIELD", 103),
        ("ERROR_CODE_UNSUPPORTED_VERSION", 104),
        ("ERROR_CODE_SIGNATURE_INVALID", 200),
        ("ERROR_CODE_SUITE_MISMATCH", 201),
        ("ERROR_CODE_PUBLIC_KEY_INVALID", 202),
        ("ERROR_CODE_DECRYPTION_FAILED", 203),
        ("ERROR_CODE_KEY_PASSPHRASE_WRONG", 204),
        ("ERROR_CODE_KEY_FILE_CORRUPT", 205),
        ("ERROR_CODE_HSM_FAILURE", 206),
        ("ERROR_CODE_KEY_NOT_FOUND", 207),
        ("ERROR_CODE_PRIVATE_KEY_INVALID", 208),
        ("ERROR_CODE_CERTIFICATE_MALFORMED", 300),
        ("ERROR_CODE_CERTIFICATE_UNTRUSTED", 301),
        ("ERROR_CODE_CERTIFICATE_EXPIRED", 302),
        ("ERROR_CODE_CERTIFICATE_NOT_YET_VALID", 303),
        ("ERROR_CODE_CERTIFICATE_REVOKED", 304),
        ("ERROR_CODE_CERTIFICATE_WRONG_ROLE", 305),
        ("ERROR_CODE_CERTIFICATE_KEY_USAGE", 306),
        ("ERROR_CODE_CERTIFICATE_SIGNATURE_INVALID", 307),
        ("ERROR_CODE_CERTIFICATE_SUITE_MISMATCH", 308),
        ("ERROR_CODE_REVOCATION_LIST_INVALID", 309),
        ("ERROR_CODE_CHAIN_ID_MISMATCH", 400),
        ("ERROR_CODE_NONCE_REPLAYED", 401),
        ("ERROR_CODE_TRANSACTION_EXPIRED", 402),
        ("ERROR_CODE_DUPLICATE_TRANSACTION", 403),
        ("ERROR_CODE_MEMPOOL_FULL", 404),
        ("ERROR_CODE_SENDER_LIMIT_EXCEEDED", 405),
        ("ERROR_CODE_SENDER_UNKNOWN", 406),
        ("ERROR_CODE_QUORUM_INVALID", 500),
        ("ERROR_CODE_ROUND_STALE", 501),
        ("ERROR_CODE_NOT_A_VALIDATOR", 502),
        ("ERROR_CODE_EQUIVOCATION", 503),
        ("ERROR_CODE_EPOCH_MISMATCH", 504),
        ("ERROR_CODE_UNSAFE_VOTE", 505),
        ("ERROR_CODE_STORAGE_CORRUPT", 600),
        ("ERROR_CODE_STORAGE_IO", 601),
        ("ERROR_CODE_NOT_FOUND", 602),
        ("ERROR_CODE_WRONG_CHAIN", 603),
        ("ERROR_CODE_CONTRACT_NOT_FOUND", 700),
        ("ERROR_CODE_METHOD_NOT_FOUND", 701),
        ("ERROR_CODE_INVALID_ARGUMENTS", 702),
        ("ERROR_CODE_OUT_OF_GAS", 703),
        ("ERROR_CODE_PERMISSION_DENIED", 704),
        ("ERROR_CODE_INSUFFICIENT_FUNDS", 705),
        ("ERROR_CODE_ACCOUNT_FROZEN", 706),
        ("ERROR_CODE_CONTRACT_TRAPPED", 707),
        ("ERROR_CODE_ACCOUNT_LOCKED", 708),
        ("ERROR_CODE_ACCOUNT_EXPIRED", 709),
        ("ERROR_CODE_ACCOUNT_CANCELLED", 710),
        ("ERROR_CODE_CONTRACT_FROZEN", 711),
        ("ERROR_CODE_RIGHTS_RESTRICTED", 712),
        ("ERROR_CODE_ASSET_FROZEN", 713),
        ("ERROR_CODE_CONTRACT_REJECTED", 714),
        ("ERROR_CODE_CONTRACT_NOT_APPROVED", 715),
        ("ERROR_CODE_CONTRACT_ABOLISHED", 716),
        ("ERROR_CODE_CONTRACT_CALL_DENIED", 717),
        ("ERROR_CODE_CONTRACT_VERSION_EXISTS", 718),
        ("ERROR_CODE_LIMIT_EXCEEDED", 800),
        ("ERROR_CODE_NOT_AUTHORISED", 801),
        ("ERROR_CODE_CASE_REFERENCE_REUSED", 802),
        ("ERROR_CODE_APPROVAL_INVALID", 803),
        ("ERROR_CODE_CREDENTIAL_INVALID", 804),
        ("ERROR_CODE_APPROVALS_INSUFFICIENT", 805),
        ("ERROR_CODE_SUSPENDED", 806),
        ("ERROR_CODE_RESERVE_EXCEEDED", 820),
        ("ERROR_CODE_WALLET_NOT_FOUND", 821),
        ("ERROR_CODE_PAYMENT_NOT_RELEASABLE", 822),
        ("ERROR_CODE_PAYMENT_EXPIRED", 823),
        ("ERROR_CODE_PAYMENT_SETTLED", 824),
        ("ERROR_CODE_NOT_ENTITLED", 860),
        ("ERROR_CODE_COMMITMENT_MISMATCH", 861),
        ("ERROR_CODE_PRIVATE_DATA_PURGED", 862),
        ("ERROR_CODE_ENVELOPE_INVALID", 863),
        ("ERROR_CODE_FIELD_UNDECLARED", 864),
        ("ERROR_CODE_AUDIT_CHAIN_BROKEN", 865),
        ("ERROR_CODE_PROPOSAL_NOT_FOUND", 900),
        ("ERROR_CODE_PROPOSAL_CLOSED", 901),
        ("ERROR_CODE_ALREADY_VOTED", 902),
        ("ERROR_CODE_VALIDATORS_BELOW_MINIMUM", 903),
        ("ERROR_CODE_PROPOSAL_INVALID", 904),
        ("ERROR_CODE_NODE_NOT_REGISTERED", 905),
    ];

    // Message.field = number [repeated] type, in declaration order of messages and field-number order of fields.
    private static readonly string[] MessageFields =
    [
        "TransactionBody.chain_id = 1 string",
        "TransactionBody.sender = 2 bytes",
        "TransactionBody.nonce = 3 uint64",
        "TransactionBody.expiry_height = 4 uint64",
        "TransactionBody.contract = 5 string",
        "TransactionBody.contract_version = 6 uint32",
        "TransactionBody.method = 7 string",
        "TransactionBody.arguments = 8 bytes",
        "TransactionBody.suite = 9 CryptoSuiteId",
        "TransactionBody.gas_limit = 10 uint64",
        "TransactionEnvelope.body = 1 bytes",
        "TransactionEnvelope.public_key = 2 bytes",
        "TransactionEnvelope.signature = 3 bytes",
        "VoteData.chain_id = 1 string",
        "VoteData.epoch = 2 uint64",
        "VoteData.round = 3 uint64",
        "VoteData.height = 4 uint64",
        "VoteData.block_hash = 5 bytes",
        "VoteData.parent_round = 6 uint64",
        "VoteData.parent_hash = 7 bytes",
        "Vote.data = 1 bytes",
        "Vote.voter = 2 uint32",
        "Vote.signature = 3 bytes",
        "QuorumCertificate.vote_data = 1 bytes",
        "QuorumCertificate.signers = 2 bytes",
        "QuorumCertificate.signatures = 3 repeated bytes",
        "TimeoutData.chain_id = 1 string",
        "TimeoutData.epoch = 2 uint64",
        "TimeoutData.round = 3 uint64",
        "TimeoutData.high_qc_round = 4 uint64",
        "RoundTimeout.data = 1 bytes",
        "RoundTimeout.author = 2 uint32",
        "RoundTimeout.signature = 3 bytes",
        "RoundTimeout.high_qc = 4 QuorumCertificate",
        "TimeoutSignature.author = 1 uint32",
        "TimeoutSignature.data = 2 bytes",
        "TimeoutSignature.signature = 3 bytes",
        "TimeoutCertificate.epoch = 1 uint64",
        "TimeoutCertificate.round = 2 uint64",
        "TimeoutCertificate.signatures = 3 repeated TimeoutSignature",
        "BlockHeader.chain_id = 1 string",
        "BlockHeader.epoch = 2 uint64",
        "BlockHeader.height = 3 uint64",
        "BlockHeader.round = 4 uint64",
        "BlockHeader.parent_hash = 5 bytes",
        "BlockHeader.transaction_root = 6 bytes",
        "BlockHeader.state_root = 7 bytes",
        "BlockHeader.timestamp_ms = 8 uint64",
        "BlockHeader.proposer = 9 uint32",
        "BlockHeader.parent_qc = 10 QuorumCertificate",
        "BlockHeader.timeout_certificate = 11 TimeoutCertificate",
        "Block.header = 1 bytes",
        "Block.transactions = 2 repeated bytes",
    ];

    // The bytes protoc 3.x writes for the WireSamples objects, 128 hex digits a line.
    public static TheoryData<string, string> KnownEncodings => new()
    {
        {
            nameof(TransactionBody),
            "0a0b637573746f732d746573741210000102030405060708090a0b0c0d0e0f180720e8072a05746f6b656e30013a087472616e73666572420501020304054801"
            + "50d08603"
        },
        {
            nameof(TransactionEnvelope),
            "0a440a0b637573746f732d746573741210000102030405060708090a0b0c0d0e0f180720e8072a05746f6b656e30013a087472616e7366657242050102030405"
            + "480150d0860312410411111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
            + "1111111111111111111a402222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222"
            + "2222222222222222222222"
        },
        {
            nameof(VoteData),
            "0a0b637573746f732d746573741001180520042a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb30043a20aaaaaaaaaaaaaa"
            + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        },
        {
            nameof(Vote),
            "0a590a0b637573746f732d746573741001180520042a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb30043a20aaaaaaaaaa"
            + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa10021a40333333333333333333333333333333333333333333333333333333333333333333"
            + "33333333333333333333333333333333333333333333333333333333333333"
        },
        {
            nameof(QuorumCertificate),
            "0a590a0b637573746f732d746573741001180520042a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb30043a20aaaaaaaaaa"
            + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa12010b1a404040404040404040404040404040404040404040404040404040404040404040"
            + "40404040404040404040404040404040404040404040404040404040404040401a40414141414141414141414141414141414141414141414141414141414141"
            + "414141414141414141414141414141414141414141414141414141414141414141411a4043434343434343434343434343434343434343434343434343434343"
            + "434343434343434343434343434343434343434343434343434343434343434343434343"
        },
        {
            nameof(TimeoutData),
            "0a0b637573746f732d74657374100118062005"
        },
        {
            nameof(RoundTimeout),
            "0a130a0b637573746f732d7465737410011806200510031a40606060606060606060606060606060606060606060606060606060606060606060606060606060"
            + "6060606060606060606060606060606060606060606060606022a4020a590a0b637573746f732d746573741001180520042a20bbbbbbbbbbbbbbbbbbbbbbbbbb"
            + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb30043a20aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa12010b1a4040404040"
            + "4040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040401a404141"
            + "41414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141411a40"
            + "43434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343434343"
        },
        {
            nameof(TimeoutCertificate),
            "080110061a5712130a0b637573746f732d746573741001180620051a405050505050505050505050505050505050505050505050505050505050505050505050"
            + "50505050505050505050505050505050505050505050505050505050501a59080112130a0b637573746f732d746573741001180620051a405151515151515151"
            + "51515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151511a59080312130a0b"
            + "637573746f732d746573741001180620051a40535353535353535353535353535353535353535353535353535353535353535353535353535353535353535353"
            + "53535353535353535353535353535353535353"
        },
        {
            nameof(BlockHeader),
            "0a0b637573746f732d746573741001180520062a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3220cccccccccccccccccc"
            + "cccccccccccccccccccccccccccccccccccccccccccccc3a20dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd4080d0eab6b733"
            + "480152a4020a590a0b637573746f732d746573741001180520042a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb30043a20"
            + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa12010b1a40404040404040404040404040404040404040404040404040404040"
            + "404040404040404040404040404040404040404040404040404040404040404040404040401a4041414141414141414141414141414141414141414141414141"
            + "4141414141414141414141414141414141414141414141414141414141414141414141414141411a404343434343434343434343434343434343434343434343"
            + "4343434343434343434343434343434343434343434343434343434343434343434343434343434343"
        },
        {
            nameof(Block),
            "0aa9030a0b637573746f732d746573741001180520062a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3220cccccccccccc"
            + "cccccccccccccccccccccccccccccccccccccccccccccccccccc3a20dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd4080d0ea"
            + "b6b733480152a4020a590a0b637573746f732d746573741001180520042a20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb30"
            + "043a20aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa12010b1a40404040404040404040404040404040404040404040404040"
            + "404040404040404040404040404040404040404040404040404040404040404040404040404040401a4041414141414141414141414141414141414141414141"
            + "4141414141414141414141414141414141414141414141414141414141414141414141414141414141411a404343434343434343434343434343434343434343"
            + "434343434343434343434343434343434343434343434343434343434343434343434343434343434343434312cb010a440a0b637573746f732d746573741210"
            + "000102030405060708090a0b0c0d0e0f180720e8072a05746f6b656e30013a087472616e7366657242050102030405480150d086031241041111111111111111"
            + "11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111a40222222222222"
            + "22222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222"
        },
    };

    public static TheoryData<ObjectType, string> SigningDomainPrefixes => new()
    {
        { ObjectType.Transaction, "637573746f732f76312f7472616e73616374696f6e00" },
        { ObjectType.BlockHeader, "637573746f732f76312f626c6f636b5f68656164657200" },
        { ObjectType.Vote, "637573746f732f76312f766f746500" },
        { ObjectType.QuorumCertificate, "637573746f732f76312f71756f72756d5f636572746966696361746500" },
        { ObjectType.Timeout, "637573746f732f76312f74696d656f757400" },
        { ObjectType.TimeoutCertificate, "637573746f732f76312f74696d656f75745f636572746966696361746500" },
        { ObjectType.Proposal, "637573746f732f76312f70726f706f73616c00" },
        { ObjectType.Block, "637573746f732f76312f626c6f636b00" },
        { ObjectType.Certificate, "637573746f732f76312f636572746966696361746500" },
        { ObjectType.Genesis, "637573746f732f76312f67656e6573697300" },
        { ObjectType.TransactionBatch, "637573746f732f76312f7472616e73616374696f6e5f626174636800" },
        { ObjectType.MerkleLeaf, "637573746f732f76312f6d65726b6c655f6c65616600" },
        { ObjectType.MerkleNode, "637573746f732f76312f6d65726b6c655f6e6f646500" },
        { ObjectType.PseudonymCredential, "637573746f732f76312f70736575646f6e796d5f63726564656e7469616c00" },
        { ObjectType.PseudonymEscrow, "637573746f732f76312f70736575646f6e796d5f657363726f7700" },
        { ObjectType.EscrowShare, "637573746f732f76312f657363726f775f736861726500" },
        { ObjectType.ReleasedShare, "637573746f732f76312f72656c65617365645f736861726500" },
        { ObjectType.AuditReport, "637573746f732f76312f61756469745f7265706f727400" },
    };

    public static TheoryData<string, string, string, string, string> SuiteDigests => new()
    {
        {
            "gm",
            "de4f883bbdfd25ce06d00c8b35985587047e8344448b1c1db2e1a59f2f5fd759",
            "830e1f3f437aa141c5fd1b189e869e16bdd8d2ea3299e4fc335746eb6e7068f2",
            "d5260b3c5db52c75d28b3dcb1cd8816d1e1952d10a53e05b8630c1ee9c8ae5f0",
            "37694b97ef104143cdfe5fd97fe7a326cb37affe1bdafb6e26d829a066596212"
        },
        {
            "intl",
            "c42d381882a5c98f87f831b443360fa05d0965cc99cb7f64082f4dd9f246d512",
            "ba8f8b2189e019229f9ebd70d047c0374eb65b8d46286a7f894c8cbff7d5a234",
            "7de54436229b19314228b9fdbfcb4202be7ab23f88a4ccb7592fde69b54f9f24",
            "5c9fae2a12c010d75de4088db239edb969f123d5ad32e3ace12830274cb72976"
        },
    };

    [Fact]
    public void CryptoSuiteId_values_are_frozen() => AssertEnumFrozen("CryptoSuiteId", CryptoSuiteIdValues);

    [Fact]
    public void ObjectType_values_are_frozen() => AssertEnumFrozen("ObjectType", ObjectTypeValues);

    [Fact]
    public void ErrorCode_values_are_frozen() => AssertEnumFrozen("ErrorCode", ErrorCodeValues);

    [Fact]
    public void File_declares_exactly_the_frozen_enums() =>
        Assert.Equal(["CryptoSuiteId", "ObjectType", "ErrorCode"], TypesReflection.Descriptor.EnumTypes.Select(e => e.Name));

    [Fact]
    public void Error_code_names_are_the_wire_names_without_prefix()
    {
        foreach (var (name, number) in ErrorCodeValues)
        {
            Assert.Equal(name["ERROR_CODE_".Length..], ErrorCodes.Name((ErrorCode)number));
        }

        Assert.Equal("UNKNOWN_99", ErrorCodes.Name((ErrorCode)99));
    }

    [Fact]
    public void Message_field_numbers_and_types_are_frozen()
    {
        var actual = TypesReflection.Descriptor.MessageTypes
            .SelectMany(message => message.Fields.InFieldNumberOrder().Select(field => Describe(message, field)))
            .ToArray();
        FormatChange(() => Assert.Equal(MessageFields, actual));
    }

    [Fact]
    public void No_message_declares_oneofs_maps_or_nested_types()
    {
        // Nested types and maps would escape the field table above; maps also have no canonical order on the wire.
        foreach (var message in TypesReflection.Descriptor.MessageTypes)
        {
            Assert.Empty(message.NestedTypes);
            Assert.Empty(message.EnumTypes);
            Assert.Empty(message.Oneofs);
            Assert.DoesNotContain(message.Fields.InFieldNumberOrder(), field => field.IsMap);
        }
    }

    [Theory]
    [MemberData(nameof(KnownEncodings))]
    public void Known_object_encodes_to_its_frozen_bytes(string messageName, string expectedHex)
    {
        FormatChange(() => Assert.Equal(expectedHex, Convert.ToHexStringLower(Sample(messageName).ToByteArray())));
    }

    [Theory]
    [MemberData(nameof(KnownEncodings))]
    public void Frozen_bytes_parse_back_to_the_known_object(string messageName, string expectedHex)
    {
        var sample = Sample(messageName);
        var parsed = sample.Descriptor.Parser.ParseFrom(Convert.FromHexString(expectedHex));
        Assert.Equal(sample, parsed);
    }

    [Fact]
    public void Known_encodings_cover_every_message_that_goes_on_the_wire_alone()
    {
        // TimeoutSignature appears only inside TimeoutCertificate, whose vector covers it.
        var covered = KnownEncodings.Select(row => row.Data.Item1).Append(nameof(TimeoutSignature)).Order();
        Assert.Equal(TypesReflection.Descriptor.MessageTypes.Select(m => m.Name).Order(), covered);
    }

    [Theory]
    [MemberData(nameof(SigningDomainPrefixes))]
    public void Signing_domain_prefix_is_frozen(ObjectType type, string expectedHex)
    {
        FormatChange(() => Assert.Equal(expectedHex, Convert.ToHexStringLower(SigningDomain.Prefix(type))));
    }

    [Fact]
    public void Every_object_type_but_unspecified_has_a_frozen_signing_domain()
    {
        var frozen = SigningDomainPrefixes.Select(row => row.Data.Item1).Order();
        Assert.Equal(Enum.GetValues<ObjectType>().Where(t => t != ObjectType.Unspecified).Order(), frozen);
        var error = Assert.Throws<CustosException>(() => SigningDomain.Prefix(ObjectType.Unspecified).ToArray());
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [MemberData(nameof(SuiteDigests))]
    public void Transaction_id_block_hash_and_merkle_root_are_frozen_per_suite(
        string suiteName, string transactionIdHex, string blockHashHex, string fiveLeafRootHex, string emptyRootHex)
    {
        var suite = CryptoSuites.Parse(suiteName);

        var envelope = WireSamples.Envelope().ToByteArray();
        Assert.True(Decoders.TryDecodeTransaction(envelope, out var transaction, out var error), error?.ToString());
        FormatChange(() => Assert.Equal(transactionIdHex, transaction.ComputeId(suite).ToString()));

        var block = WireSamples.Block().ToByteArray();
        Assert.True(Decoders.TryDecodeBlock(block, out var decoded, out error), error?.ToString());
        FormatChange(() => Assert.Equal(blockHashHex, decoded.ComputeHash(suite).ToString()));

        var leaves = Enumerable.Range(1, 5).Select(i => new Hash32(WireSamples.Filled(32, (byte)i))).ToArray();
        FormatChange(() => Assert.Equal(fiveLeafRootHex, MerkleRoot.Compute(suite, leaves).ToString()));
        FormatChange(() => Assert.Equal(emptyRootHex, MerkleRoot.Compute(suite, []).ToString()));
    }

    private static IMessage Sample(string messageName) => messageName switch
    {
        nameof(TransactionBody) => WireSamples.Body(),
        nameof(TransactionEnvelope) => WireSamples.Envelope(),
        nameof(VoteData) => WireSamples.VoteData(),
        nameof(Vote) => WireSamples.Vote(),
        nameof(QuorumCertificate) => WireSamples.QuorumCertificate(),
        nameof(TimeoutData) => WireSamples.TimeoutData(),
        nameof(RoundTimeout) => WireSamples.Timeout(),
        nameof(TimeoutCertificate) => WireSamples.TimeoutCertificate(),
        nameof(BlockHeader) => WireSamples.BlockHeader(),
        nameof(Block) => WireSamples.Block(),
        _ => throw new ArgumentOutOfRangeException(nameof(messageName), messageName, "no sample"),
    };

    /// <summary>Runs a comparison against frozen data and, if it fails, says what the failure means.</summary>
    private static void FormatChange(Action comparison)
    {
        try
        {
            comparison();
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException(
                "FORMAT CHANGE: bytes that are signed, hashed or stored differ from the frozen format. Update the frozen "
                + "table only with a format version bump and a migration note (see GoldenEncodingTests).\n" + e.Message, e);
        }
    }

    private static void AssertEnumFrozen(string enumName, (string Name, int Number)[] frozen)
    {
        var descriptor = TypesReflection.Descriptor.FindTypeByName<EnumDescriptor>(enumName);
        Assert.NotNull(descriptor);
        FormatChange(() => Assert.Equal(frozen, descriptor.Values.Select(v => (v.Name, v.Number))));
    }

    private static string Describe(MessageDescriptor message, FieldDescriptor field)
    {
        var type = field.FieldType switch
        {
            FieldType.Message => field.MessageType.Name,
            FieldType.Enum => field.EnumType.Name,
            _ => field.FieldType.ToString().ToLowerInvariant(),
        };
        return $"{message.Name}.{field.Name} = {field.FieldNumber} {(field.IsRepeated ? "repeated " : "")}{type}";
    }
}

using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>Field validation after a well-formed, canonical parse: lengths, names, ranges and cross-field rules.</summary>
public sealed class DecoderValidationTests
{
    [Fact]
    public void Decoded_transaction_exposes_the_body_and_the_exact_signed_bytes()
    {
        var body = WireSamples.Body();
        var envelope = WireSamples.Envelope(body).ToByteArray();
        Assert.True(Decoders.TryDecodeTransaction(envelope, out var transaction, out var error), error?.ToString());
        Assert.Equal(body, transaction.Body);
        Assert.Equal(body.ToByteArray(), transaction.BodyBytes.ToArray());
        Assert.Equal(envelope, transaction.Envelope.ToArray());
        Assert.Equal(new AccountId(WireSamples.SenderBytes), transaction.Sender);
        Assert.Equal(WireSamples.ChainId, transaction.ChainId);
        Assert.Equal(7UL, transaction.Nonce);
        Assert.Equal(CryptoSuiteId.Gm, transaction.Suite);
        Assert.Equal(WireSamples.PublicKeyFiller, transaction.PublicKey.ToArray());
        Assert.Equal(WireSamples.Filled(64, 0x22), transaction.Signature.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(32)]
    public void Sender_of_the_wrong_length_is_refused_as_InvalidLength(int length)
    {
        var body = WireSamples.Body();
        body.Sender = WireSamples.FilledBytes(length, 0x01);
        AssertTransactionRefused(body, ErrorCode.InvalidLength);
    }

    [Fact]
    public void Expiry_height_zero_is_refused_as_InvalidField()
    {
        var body = WireSamples.Body();
        body.ExpiryHeight = 0;
        AssertTransactionRefused(body, ErrorCode.InvalidField);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/ed")]
    [InlineData("链")]
    [InlineData("nul\0")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Bad_chain_id_is_refused_as_InvalidField(string chainId)
    {
        var body = WireSamples.Body();
        body.ChainId = chainId;
        AssertTransactionRefused(body, ErrorCode.InvalidField);

        var data = WireSamples.VoteData();
        data.ChainId = chainId;
        Assert.False(Decoders.TryDecodeVoteData(data.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);

        var header = WireSamples.GenesisHeader();
        header.ChainId = chainId;
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Chain_id_of_the_longest_allowed_length_is_accepted()
    {
        var body = WireSamples.Body();
        body.ChainId = new string('a', WireLimits.ChainIdLengthMax);
        Assert.True(Decoders.TryDecodeTransaction(WireSamples.Envelope(body).ToByteArray(), out _, out var error), error?.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("to ken")]
    [InlineData("token()")]
    [InlineData("tök")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Bad_contract_or_method_name_is_refused_as_InvalidField(string name)
    {
        var body = WireSamples.Body();
        body.Contract = name;
        AssertTransactionRefused(body, ErrorCode.InvalidField);

        body = WireSamples.Body();
        body.Method = name;
        AssertTransactionRefused(body, ErrorCode.InvalidField);
    }

    [Theory]
    [InlineData(CryptoSuiteId.Unspecified)]
    [InlineData((CryptoSuiteId)3)]
    [InlineData((CryptoSuiteId)(-1))]
    public void Unknown_suite_is_refused_as_SuiteMismatch(CryptoSuiteId suite)
    {
        var body = WireSamples.Body();
        body.Suite = suite;
        AssertTransactionRefused(body, ErrorCode.SuiteMismatch);
    }

    [Fact]
    public void Arguments_over_their_bound_are_refused_as_TooLarge()
    {
        var body = WireSamples.Body();
        body.Arguments = WireSamples.FilledBytes(WireLimits.TransactionArgumentsSizeBytesMax + 1, 0x07);
        AssertTransactionRefused(body, ErrorCode.TooLarge);
    }

    [Fact]
    public void Body_that_is_not_protobuf_is_refused_as_Malformed()
    {
        AssertEnvelopeRefused(WireSamples.Envelope([0x0a, 0x7f]), ErrorCode.Malformed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(66)]
    public void Public_key_of_the_wrong_length_is_refused_as_PublicKeyInvalid(int length)
    {
        var envelope = WireSamples.Envelope();
        envelope.PublicKey = length == 0 ? ByteString.Empty : ByteString.CopyFrom([0x04, .. WireSamples.Filled(length - 1, 0x11)]);
        AssertEnvelopeRefused(envelope, ErrorCode.PublicKeyInvalid);
    }

    [Theory]
    [InlineData(0x02)]
    [InlineData(0x03)]
    [InlineData(0x00)]
    public void Public_key_that_is_not_uncompressed_is_refused_as_PublicKeyInvalid(byte first)
    {
        var envelope = WireSamples.Envelope();
        envelope.PublicKey = ByteString.CopyFrom([first, .. WireSamples.Filled(64, 0x11)]);
        AssertEnvelopeRefused(envelope, ErrorCode.PublicKeyInvalid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(72)]
    public void Signature_of_the_wrong_length_is_refused_as_InvalidLength_everywhere(int length)
    {
        var signature = WireSamples.FilledBytes(length, 0x22);

        var envelope = WireSamples.Envelope();
        envelope.Signature = signature;
        AssertEnvelopeRefused(envelope, ErrorCode.InvalidLength);

        var vote = WireSamples.Vote();
        vote.Signature = signature;
        Assert.False(Decoders.TryDecodeVote(vote.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);

        var qc = WireSamples.QuorumCertificate();
        qc.Signatures[1] = signature;
        Assert.False(Decoders.TryDecodeQuorumCertificate(qc.ToByteArray(), out _, out _, out error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);

        var timeout = WireSamples.Timeout();
        timeout.Signature = signature;
        Assert.False(Decoders.TryDecodeTimeout(timeout.ToByteArray(), out _, out _, out error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);

        var tc = WireSamples.TimeoutCertificate();
        tc.Signatures[2].Signature = signature;
        Assert.False(Decoders.TryDecodeTimeoutCertificate(tc.ToByteArray(), out _, out error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Hash_of_the_wrong_length_is_refused_as_InvalidLength(int length)
    {
        var hash = WireSamples.FilledBytes(length, 0xbb);

        var data = WireSamples.VoteData();
        data.BlockHash = hash;
        Assert.False(Decoders.TryDecodeVoteData(data.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);

        data = WireSamples.VoteData();
        data.ParentHash = hash;
        Assert.False(Decoders.TryDecodeVoteData(data.ToByteArray(), out _, out error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);

        foreach (var set in new Action<BlockHeader>[] { h => h.ParentHash = hash, h => h.TransactionRoot = hash, h => h.StateRoot = hash })
        {
            var header = WireSamples.GenesisHeader();
            set(header);
            Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out error));
            Assert.Equal(ErrorCode.InvalidLength, error.Code);
        }
    }

    [Fact]
    public void Vote_data_whose_parent_round_is_not_below_its_round_is_refused()
    {
        var data = WireSamples.VoteData();
        data.ParentRound = data.Round;
        Assert.False(Decoders.TryDecodeVoteData(data.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Validator_index_beyond_the_largest_set_is_refused()
    {
        var vote = WireSamples.Vote();
        vote.Voter = WireLimits.ValidatorsMax;
        Assert.False(Decoders.TryDecodeVote(vote.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);

        vote.Voter = WireLimits.ValidatorsMax - 1;
        Assert.True(Decoders.TryDecodeVote(vote.ToByteArray(), out _, out _, out error), error?.ToString());

        var header = WireSamples.BlockHeader();
        header.Proposer = WireLimits.ValidatorsMax;
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(0)]
    public void Quorum_certificate_whose_bitmap_and_signature_count_differ_is_refused(int signatureCount)
    {
        var qc = WireSamples.QuorumCertificate();
        qc.Signatures.Clear();
        for (var i = 0; i < signatureCount; i++) qc.Signatures.Add(WireSamples.FilledBytes(64, 0x40));
        Assert.False(Decoders.TryDecodeQuorumCertificate(qc.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    public void Quorum_certificate_bitmap_of_impossible_size_is_refused_as_InvalidLength(int length)
    {
        var qc = WireSamples.QuorumCertificate();
        qc.Signers = WireSamples.FilledBytes(length, 0x00);
        qc.Signatures.Clear();
        Assert.False(Decoders.TryDecodeQuorumCertificate(qc.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.InvalidLength, error.Code);
    }

    [Fact]
    public void Quorum_certificate_bitmap_with_trailing_zero_bytes_is_refused_as_Malformed()
    {
        // 0x0b and 0x0b00 name the same signers; only the shorter is canonical.
        var qc = WireSamples.QuorumCertificate();
        qc.Signers = WireSamples.Bytes(0x0b, 0x00);
        Assert.False(Decoders.TryDecodeQuorumCertificate(qc.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.Malformed, error.Code);
    }

    [Fact]
    public void Quorum_certificate_naming_no_signer_is_refused()
    {
        var qc = WireSamples.QuorumCertificate();
        qc.Signers = WireSamples.Bytes(0x00);
        qc.Signatures.Clear();
        Assert.False(Decoders.TryDecodeQuorumCertificate(qc.ToByteArray(), out _, out _, out var error));
        Assert.NotEqual(ErrorCode.Ok, error.Code);
    }

    [Fact]
    public void Quorum_certificate_of_validators_beyond_the_first_byte_is_accepted()
    {
        var qc = WireSamples.QuorumCertificate();
        qc.Signers = WireSamples.Bytes(0x00, 0x00, 0x81); // validators 16 and 23
        qc.Signatures.Clear();
        qc.Signatures.Add(WireSamples.FilledBytes(64, 0x40));
        qc.Signatures.Add(WireSamples.FilledBytes(64, 0x41));
        Assert.True(Decoders.TryDecodeQuorumCertificate(qc.ToByteArray(), out _, out _, out var error), error?.ToString());
    }

    [Fact]
    public void Quorum_certificate_exposes_the_decoded_vote_data()
    {
        Assert.True(Decoders.TryDecodeQuorumCertificate(WireSamples.QuorumCertificate().ToByteArray(), out var qc, out var data, out var error), error?.ToString());
        Assert.Equal(WireSamples.VoteData(), data);
        Assert.Equal(3, qc.Signatures.Count);
    }

    [Fact]
    public void Genesis_header_without_certificates_is_accepted()
    {
        Assert.True(Decoders.TryDecodeBlockHeader(WireSamples.GenesisHeader().ToByteArray(), out var header, out var error), error?.ToString());
        Assert.Equal(0UL, header.Height);
    }

    [Fact]
    public void Genesis_header_carrying_a_certificate_is_refused()
    {
        var header = WireSamples.GenesisHeader();
        header.ParentQc = WireSamples.QuorumCertificate();
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Header_above_genesis_without_parent_quorum_certificate_is_refused()
    {
        var header = WireSamples.BlockHeader();
        header.ParentQc = null;
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Parent_quorum_certificate_of_another_chain_is_refused_as_ChainIdMismatch()
    {
        var header = WireSamples.BlockHeader();
        var data = WireSamples.VoteData();
        data.ChainId = "another-chain";
        header.ParentQc.VoteData = data.ToByteString();
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Fact]
    public void Parent_quorum_certificate_of_a_later_epoch_is_refused_as_EpochMismatch()
    {
        var header = WireSamples.BlockHeader();
        var data = WireSamples.VoteData();
        data.Epoch = header.Epoch + 1;
        header.ParentQc.VoteData = data.ToByteString();
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.EpochMismatch, error.Code);
    }

    [Fact]
    public void Timeout_whose_high_quorum_certificate_is_of_another_chain_is_refused()
    {
        var timeout = WireSamples.Timeout();
        var data = WireSamples.VoteData();
        data.ChainId = "another-chain";
        timeout.HighQc.VoteData = data.ToByteString();
        Assert.False(Decoders.TryDecodeTimeout(timeout.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Fact]
    public void Timeout_certificate_mixing_chains_is_refused()
    {
        var tc = WireSamples.TimeoutCertificate();
        var data = WireSamples.TimeoutData();
        data.ChainId = "another-chain";
        tc.Signatures[2].Data = data.ToByteString();
        Assert.False(Decoders.TryDecodeTimeoutCertificate(tc.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Theory]
    [InlineData('z')]
    [InlineData(' ')]
    [InlineData('-')]
    public void Hash_and_account_id_text_with_a_non_hex_digit_is_refused_as_InvalidField(char digit)
    {
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<CustosException>(() => Hash32.Parse(new string('0', 63) + digit)).Code);
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<CustosException>(() => AccountId.Parse(digit + new string('0', 31))).Code);
    }

    [Fact]
    public void Parent_quorum_certificate_for_another_block_than_parent_hash_is_refused()
    {
        var header = WireSamples.BlockHeader();
        header.ParentHash = WireSamples.FilledBytes(32, 0xbc);
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [InlineData(4UL, 6UL)] // parent at the same height
    [InlineData(6UL, 6UL)] // height skips one
    [InlineData(5UL, 5UL)] // parent QC round not below the block's round
    [InlineData(5UL, 4UL)]
    public void Parent_quorum_certificate_that_does_not_precede_the_block_is_refused(ulong height, ulong round)
    {
        var header = WireSamples.BlockHeader();
        header.Height = height;
        header.Round = round;
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Invalid_parent_quorum_certificate_is_refused_with_its_own_error()
    {
        var header = WireSamples.BlockHeader();
        header.ParentQc.Signatures.RemoveAt(0);
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
        Assert.StartsWith("parent QC:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_after_a_view_change_with_a_timeout_certificate_for_the_previous_round_is_accepted()
    {
        var header = WireSamples.BlockHeader();
        header.Round = 7;
        header.TimeoutCertificate = WireSamples.TimeoutCertificate();
        Assert.True(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error), error?.ToString());
    }

    [Fact]
    public void Header_with_a_timeout_certificate_for_another_round_is_refused()
    {
        var header = WireSamples.BlockHeader();
        header.Round = 8;
        header.TimeoutCertificate = WireSamples.TimeoutCertificate();
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [InlineData(new uint[] { 1, 0, 3 })]
    [InlineData(new uint[] { 0, 3, 1 })]
    [InlineData(new uint[] { 0, 1, 1 })]
    public void Timeout_certificate_with_authors_not_strictly_increasing_is_refused(uint[] authors)
    {
        var tc = WireSamples.TimeoutCertificate();
        for (var i = 0; i < authors.Length; i++) tc.Signatures[i].Author = authors[i];
        Assert.False(Decoders.TryDecodeTimeoutCertificate(tc.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [InlineData(1UL, 7UL)]
    [InlineData(2UL, 6UL)]
    public void Timeout_certificate_holding_a_timeout_for_another_round_or_epoch_is_refused(ulong epoch, ulong round)
    {
        var tc = WireSamples.TimeoutCertificate();
        var data = WireSamples.TimeoutData();
        data.Epoch = epoch;
        data.Round = round;
        tc.Signatures[1].Data = data.ToByteString();
        Assert.False(Decoders.TryDecodeTimeoutCertificate(tc.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Timeout_certificate_without_signatures_is_refused()
    {
        var tc = new TimeoutCertificate { Epoch = 1, Round = 6 };
        Assert.False(Decoders.TryDecodeTimeoutCertificate(tc.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Timeout_whose_quorum_certificate_is_not_of_the_reported_round_is_refused()
    {
        var timeout = WireSamples.Timeout();
        var data = WireSamples.TimeoutData();
        data.HighQcRound = 4;
        timeout.Data = data.ToByteString();
        Assert.False(Decoders.TryDecodeTimeout(timeout.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Timeout_reporting_a_quorum_certificate_it_does_not_carry_is_refused()
    {
        var timeout = WireSamples.Timeout();
        timeout.HighQc = null;
        Assert.False(Decoders.TryDecodeTimeout(timeout.ToByteArray(), out _, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Timeout_data_whose_high_quorum_certificate_round_is_not_below_its_round_is_refused()
    {
        var data = WireSamples.TimeoutData();
        data.HighQcRound = data.Round;
        Assert.False(Decoders.TryDecodeTimeoutData(data.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Block_holding_a_transaction_for_another_chain_is_refused_as_ChainIdMismatch()
    {
        var body = WireSamples.Body();
        body.ChainId = "other-chain";
        var block = WireSamples.Block();
        block.Transactions.Add(WireSamples.Envelope(body).ToByteString());
        Assert.False(Decoders.TryDecodeBlock(block.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Fact]
    public void Block_holding_an_invalid_transaction_reports_which_one_with_its_error()
    {
        var body = WireSamples.Body();
        body.ExpiryHeight = 0;
        var block = WireSamples.Block();
        block.Transactions.Add(WireSamples.Envelope(body).ToByteString());
        Assert.False(Decoders.TryDecodeBlock(block.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
        Assert.StartsWith("transaction 1:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Block_with_an_invalid_header_is_refused()
    {
        var header = WireSamples.BlockHeader();
        header.ParentQc = null;
        var block = WireSamples.Block();
        block.Header = header.ToByteString();
        Assert.False(Decoders.TryDecodeBlock(block.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Block_with_more_transactions_than_allowed_is_refused_as_TooLarge()
    {
        var block = new Block { Header = WireSamples.BlockHeader().ToByteString() };
        for (var i = 0; i <= WireLimits.BlockTransactionsMax; i++) block.Transactions.Add(ByteString.Empty);
        Assert.False(Decoders.TryDecodeBlock(block.ToByteArray(), out _, out var error));
        Assert.Equal(ErrorCode.TooLarge, error.Code);
    }

    [Fact]
    public void Decoded_block_keeps_the_header_bytes_and_transactions_in_order()
    {
        var block = WireSamples.Block();
        var second = WireSamples.Body();
        second.Nonce = 8;
        block.Transactions.Add(WireSamples.Envelope(second).ToByteString());
        var bytes = block.ToByteArray();
        Assert.True(Decoders.TryDecodeBlock(bytes, out var decoded, out var error), error?.ToString());
        Assert.Equal(bytes, decoded.Encoded.ToArray());
        Assert.Equal(block.Header.ToByteArray(), decoded.HeaderBytes.ToArray());
        Assert.Equal(5UL, decoded.Height);
        Assert.Equal([7UL, 8UL], decoded.Transactions.Select(t => t.Nonce));
    }

    [Fact]
    public void Block_transaction_root_is_the_merkle_root_of_the_transaction_ids()
    {
        var suite = Crypto.CryptoSuites.Gm;
        Assert.True(Decoders.TryDecodeBlock(WireSamples.Block().ToByteArray(), out var block, out var error), error?.ToString());
        var ids = block.Transactions.Select(t => suite.HashObject(ObjectType.Transaction, t.BodyBytes.Span)).ToArray();
        Assert.Equal(MerkleRoot.Compute(suite, ids), block.ComputeTransactionRoot(suite));
        Assert.Equal(suite.HashObject(ObjectType.BlockHeader, block.HeaderBytes.Span), block.ComputeHash(suite));
    }

    private static void AssertTransactionRefused(TransactionBody body, ErrorCode expected) =>
        AssertEnvelopeRefused(WireSamples.Envelope(body), expected);

    private static void AssertEnvelopeRefused(TransactionEnvelope envelope, ErrorCode expected)
    {
        Assert.False(Decoders.TryDecodeTransaction(envelope.ToByteArray(), out _, out var error));
        Assert.Equal(expected, error.Code);
    }
}

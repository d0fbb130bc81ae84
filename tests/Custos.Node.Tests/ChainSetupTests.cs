using System.Text;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Node.Tests.Support;
using CsCheck;
using Google.Protobuf;

namespace Custos.Node.Tests;

public sealed class ChainSetupTests
{
    private static TestConsortium Consortium => TestConsortium.Intl;

    [Fact]
    public void Genesis_file_loads_with_its_chain_identity_and_hash()
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("genesis.json");
        File.WriteAllBytes(path, Consortium.Encoded);

        var chain = ChainSetup.Load(path);

        Assert.Equal(Consortium.ChainId, chain.ChainId);
        Assert.Same(CryptoSuites.Intl, chain.Suite);
        Assert.Equal(Consortium.Encoded, chain.Encoded);
        Assert.Equal(Consortium.Suite.HashObject(ObjectType.Genesis, Consortium.Encoded), chain.GenesisHash);
        Assert.Equal(new Storage.ChainIdentity(Consortium.ChainId, chain.GenesisHash, CryptoSuiteId.Intl), chain.Identity);
        Assert.Equal(Consortium.Genesis.Parameters.RoundTimeoutMs, chain.Consensus.RoundTimeoutMs);
    }

    [Fact]
    public void Missing_genesis_file_is_not_found()
    {
        using var directory = new TempDirectory();

        var refusal = Assert.Throws<CustosException>(() => ChainSetup.Load(directory.Sub("absent.json")));

        Assert.Equal(ErrorCode.NotFound, refusal.Code);
    }

    [Fact]
    public void Validators_are_numbered_first_then_observers()
    {
        var chain = Consortium.Chain;

        Assert.Equal(["node1", "node2", "node3", "node4", "observer1"], chain.Nodes.Select(n => n.Name));
        for (var i = 0; i < chain.Nodes.Count; i++)
        {
            Assert.True(chain.TryGetNode(chain.Nodes[i].Name, out var id));
            Assert.Equal(new NodeId(i), id);
            Assert.Equal(chain.Nodes[i].Name, chain.NameOf(id));
        }

        Assert.False(chain.TryGetNode("node5", out _));
        Assert.Equal(new NodeId(9).ToString(), chain.NameOf(new NodeId(9)));
    }

    [Fact]
    public void Validator_set_holds_the_validators_certificate_keys_in_genesis_order()
    {
        var validators = Consortium.Chain.Validators;

        Assert.Equal(0UL, validators.Epoch);
        Assert.Equal(TestConsortium.ValidatorCount, validators.Count);
        Assert.Equal(3, validators.Quorum);
        for (var i = 0; i < validators.Count; i++)
        {
            Assert.Equal(new NodeId(i), validators.NodeOf((uint)i));
            Assert.Equal(Consortium.ValidatorKeys[i].PublicKey, validators.KeyOf((uint)i));
            Assert.Equal(Consortium.NodeCertificates[i].PublicKey, validators.KeyOf((uint)i));
        }

        // The observer holds a node certificate but no seat.
        Assert.False(validators.TryIndexOf(new NodeId(TestConsortium.ValidatorCount), out _));
    }

    [Fact]
    public void Genesis_QC_certifies_the_genesis_block_under_the_validator_set()
    {
        var chain = Consortium.Chain;

        var qc = Assert.IsType<QuorumCertificate>(chain.GenesisQc);

        Assert.True(CertificateVerifier.TryVerify(qc, chain.ChainId, chain.Validators, chain.Suite, out var view, out var error), error?.ToString());
        Assert.Equal(chain.GenesisBlock.Hash, view.BlockHash);
        Assert.Equal(0UL, chain.GenesisBlock.Height);
        Assert.Equal((ulong)Consortium.Genesis.GenesisTime.ToUnixTimeMilliseconds(), chain.GenesisBlock.TimestampMs);
    }

    [Fact]
    public void Genesis_QC_with_a_flipped_signature_byte_is_refused()
    {
        var qc = QuorumCertificate.Parser.ParseFrom(Convert.FromBase64String(Consortium.Genesis.GenesisQuorumCertificate!));
        var signature = qc.Signatures[1].ToByteArray();
        signature[10] ^= 0x01;
        qc.Signatures[1] = ByteString.CopyFrom(signature);
        var encoded = Consortium.EncodeWith(g => g with { GenesisQuorumCertificate = Convert.ToBase64String(qc.ToByteArray()) });

        var refusal = Assert.Throws<CustosException>(() => ChainSetup.FromBytes(encoded));

        Assert.Equal(ErrorCode.SignatureInvalid, refusal.Code);
    }

    [Fact]
    public void Genesis_QC_with_too_few_signers_is_refused()
    {
        var block = ChainSetup.CreateGenesisBlock(Consortium.Genesis);
        var twoSigners = Genesis.Certify(block, Consortium.ValidatorKeys.Take(2).Select((k, i) => ((uint)i, (ISigningKey)k)));
        var encoded = Consortium.EncodeWith(g => g with { GenesisQuorumCertificate = Convert.ToBase64String(twoSigners.ToByteArray()) });

        var refusal = Assert.Throws<CustosException>(() => ChainSetup.FromBytes(encoded));

        Assert.Equal(ErrorCode.QuorumInvalid, refusal.Code);
    }

    [Fact]
    public void Genesis_QC_of_another_genesis_block_is_refused()
    {
        // Same validators, same chain: only the genesis time differs, so the QC certifies a different block.
        var other = Consortium.Genesis with { GenesisTime = Consortium.Genesis.GenesisTime.AddSeconds(1) };
        var foreignQc = ChainSetup.CertifyGenesis(other, Consortium.ValidatorKeys);
        var encoded = Consortium.EncodeWith(g => g with { GenesisQuorumCertificate = foreignQc });

        var refusal = Assert.Throws<CustosException>(() => ChainSetup.FromBytes(encoded));

        Assert.Equal(ErrorCode.InvalidField, refusal.Code);
    }

    [Fact]
    public void Genesis_QC_that_is_not_base64_is_malformed()
    {
        var encoded = Consortium.EncodeWith(g => g with { GenesisQuorumCertificate = "not base64 at all!" });

        var refusal = Assert.Throws<CustosException>(() => ChainSetup.FromBytes(encoded));

        Assert.Equal(ErrorCode.Malformed, refusal.Code);
    }

    [Fact]
    public void Genesis_QC_that_is_not_a_QC_is_malformed()
    {
        var encoded = Consortium.EncodeWith(g => g with { GenesisQuorumCertificate = Convert.ToBase64String([0x0A, 0x05, 0x01]) });

        var refusal = Assert.Throws<CustosException>(() => ChainSetup.FromBytes(encoded));

        Assert.Equal(ErrorCode.Malformed, refusal.Code);
    }

    [Fact]
    public void Genesis_without_a_QC_loads_without_one()
    {
        var encoded = Consortium.EncodeWith(g => g with { GenesisQuorumCertificate = null });

        var chain = ChainSetup.FromBytes(encoded);

        Assert.Null(chain.GenesisQc);
        Assert.Equal(Consortium.Chain.GenesisBlock.Hash, chain.GenesisBlock.Hash);
        Assert.NotEqual(Consortium.Chain.GenesisHash, chain.GenesisHash);
    }

    [Fact]
    public void Genesis_writes_hold_every_account_with_its_balance_and_the_supply()
    {
        var state = new WrittenState(Consortium.Chain.GenesisWrites().Select(w => new KeyValuePair<byte[], byte[]?>(w.Key, w.Value)));

        foreach (var entry in Consortium.Genesis.Accounts)
        {
            var id = AccountId.Parse(entry.Id);
            Assert.Equal(entry.Balance, TokenContract.ReadBalance(state, id));
            var record = Assert.IsType<AccountRecord>(AccountRegistry.Load(state, id));
            Assert.Equal(entry.PublicKey, Convert.ToHexStringLower(record.PublicKey.Span));
            Assert.Equal(entry.Organisation, record.Organisation);
            Assert.Equal(AccountStatus.Active, record.Status);
        }

        Assert.Equal((ulong)Consortium.Genesis.Accounts.Sum(a => (decimal)a.Balance), TokenContract.ReadSupply(state));
        Assert.Equal(TestConsortium.FirstClientBalance, TokenContract.ReadBalance(state, Consortium.Payer.Account));
    }

    [Fact]
    public void Genesis_account_kinds_become_account_types()
    {
        var types = Consortium.Chain.Accounts().ToDictionary(a => a.Id, a => a.Type);

        foreach (var entry in Consortium.Genesis.Accounts)
        {
            var expected = entry.Kind switch
            {
                AccountKind.SpecialPrivilege => AccountType.SpecialPrivilege,
                AccountKind.Administrator => AccountType.Administrator,
                _ => AccountType.Ordinary,
            };
            Assert.Equal(expected, types[AccountId.Parse(entry.Id)]);
        }

        Assert.Contains(AccountType.SpecialPrivilege, types.Values);
        Assert.Contains(AccountType.Administrator, types.Values);
    }

    [Fact]
    public void Damaged_genesis_bytes_give_a_typed_error_or_load()
    {
        // Any byte flipped, dropped or overwritten: the loader either accepts the result (a change in an insignificant
        // place, such as whitespace) or refuses it with a typed error; it never fails with another exception.
        var original = Consortium.Encoded;
        Gen.Select(Gen.Int[0, original.Length - 1], Gen.Byte, Gen.Int[0, 2]).Sample(mutation =>
        {
            var (position, value, kind) = mutation;
            var bytes = kind switch
            {
                0 => [.. original[..position], value, .. original[(position + 1)..]],
                1 => [.. original[..position], .. original[(position + 1)..]],
                _ => (byte[])[.. original[..position], value, .. original[position..]],
            };
            try
            {
                ChainSetup.FromBytes(bytes);
            }
            catch (CustosException)
            {
                // A typed refusal is the expected outcome for most mutations.
            }
        }, iter: 300);
    }

    [Fact]
    public void Genesis_with_null_validators_is_refused_with_a_typed_error()
    {
        var text = Encoding.UTF8.GetString(Consortium.Encoded);
        var start = text.IndexOf("\"validators\":", StringComparison.Ordinal);
        var end = text.IndexOf("\"observers\":", StringComparison.Ordinal);
        var encoded = Encoding.UTF8.GetBytes(text[..start] + "\"validators\": null,\n  " + text[end..]);

        var refusal = Record.Exception(() => ChainSetup.FromBytes(encoded));

        Assert.IsType<CustosException>(refusal);
    }
}

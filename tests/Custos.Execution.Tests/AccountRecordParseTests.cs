using Custos.Core;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution.Tests;

/// <summary>Parsing account records through the registry's cache gives what a fresh parse gives, and copies.</summary>
public sealed class AccountRecordParseTests
{
    private static AccountRecord Record(ulong registered, string organisation) => new()
    {
        AccountId = ByteString.CopyFrom(new byte[16]),
        Organisation = organisation,
        PublicKey = ByteString.CopyFrom(Enumerable.Range(0, 65).Select(i => (byte)i).ToArray()),
        Type = AccountType.Ordinary,
        Status = AccountStatus.Active,
        RegisteredHeight = registered,
    };

    [Fact]
    public void A_record_parsed_again_equals_a_fresh_parse_and_changing_it_changes_no_later_parse()
    {
        var account = new AccountId(7, 1);
        var encoded = Record(5, "org1").ToByteArray();
        var first = AccountRegistry.Parse(account, encoded);
        var second = AccountRegistry.Parse(account, encoded);
        Assert.Equal(AccountRecord.Parser.ParseFrom(encoded), second);
        Assert.NotSame(first, second);

        // Callers change the records they load (and save them): the next parse must not see it.
        second.ExpiresAtHeight = 99;
        second.Organisation = "changed";
        var third = AccountRegistry.Parse(account, encoded);
        Assert.Equal(0UL, third.ExpiresAtHeight);
        Assert.Equal("org1", third.Organisation);

        // Nor a change to the bytes it was parsed from, once they are reused for something else.
        encoded[encoded.AsSpan().IndexOf("org1"u8) + 3] = (byte)'2';
        Assert.Equal("org2", AccountRegistry.Parse(account, encoded).Organisation);
    }

    [Fact]
    public void A_new_encoding_of_the_same_account_is_parsed_anew()
    {
        var account = new AccountId(7, 2);
        Assert.Equal(5UL, AccountRegistry.Parse(account, Record(5, "org1").ToByteArray()).RegisteredHeight);
        Assert.Equal(6UL, AccountRegistry.Parse(account, Record(6, "org1").ToByteArray()).RegisteredHeight);
        Assert.Equal(5UL, AccountRegistry.Parse(account, Record(5, "org1").ToByteArray()).RegisteredHeight);
    }

    [Fact]
    public void A_malformed_record_is_refused_as_a_fresh_parse_refuses_it()
    {
        var account = new AccountId(7, 3);
        _ = AccountRegistry.Parse(account, Record(5, "org1").ToByteArray());
        Assert.Throws<InvalidProtocolBufferException>(() => AccountRegistry.Parse(account, [0x0A, 0x40, 0x01]));
    }
}

using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Export;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Tests;

public sealed class ExportTests : IDisposable
{
    private static readonly ICryptoSuite Suite = CryptoSuites.Gm;
    private readonly SoftwareKey _recipient = Suite.GenerateKey();
    private readonly SoftwareKey _other = Suite.GenerateKey();

    private static PrivacyExportContents Contents()
    {
        var contents = new PrivacyExportContents { CreatedAtMs = 1_767_225_600_000, Note = "customer export" };
        contents.Records.Add(new ExportedRecord { Contract = "dcep", Collection = "kyc", Key = ByteString.CopyFromUtf8("customer/0001"), Value = ByteString.CopyFromUtf8("张三"), DataClass = DataClass.C3 });
        contents.Records.Add(new ExportedRecord { Contract = "dcep", Collection = "payments", Key = ByteString.CopyFromUtf8("p/1"), Value = ByteString.CopyFromUtf8("¥12.00"), DataClass = DataClass.C2 });
        return contents;
    }

    [Fact]
    public void An_export_round_trips_for_its_recipient()
    {
        var file = PrivacyExport.Seal(Suite, _recipient.PublicKey, Contents());
        Assert.Equal(-1, file.AsSpan().IndexOf("张三"u8));
        Assert.True(PrivacyExport.TryOpen(Suite, file, _recipient.AsDecryptionKey(), out var contents, out var error), error?.ToString());
        Assert.Equal(Contents(), contents);
    }

    [Fact]
    public void Another_recipient_is_refused()
    {
        var file = PrivacyExport.Seal(Suite, _recipient.PublicKey, Contents());
        Assert.False(PrivacyExport.TryOpen(Suite, file, _other.AsDecryptionKey(), out _, out var error));
        Assert.Equal(ErrorCode.NotAuthorised, error.Code);
    }

    [Fact]
    public void Another_recipient_who_rewrites_the_recipient_field_still_cannot_open_it()
    {
        var file = PrivacyExportFile.Parser.ParseFrom(PrivacyExport.Seal(Suite, _recipient.PublicKey, Contents()));
        file.RecipientPublicKey = ByteString.CopyFrom(_other.PublicKey.Encoded);
        Assert.False(PrivacyExport.TryOpen(Suite, file.ToByteArray(), _other.AsDecryptionKey(), out _, out var error));
        Assert.Equal(ErrorCode.EnvelopeInvalid, error.Code);
    }

    [Fact]
    public void A_damaged_export_is_refused()
    {
        var file = PrivacyExportFile.Parser.ParseFrom(PrivacyExport.Seal(Suite, _recipient.PublicKey, Contents()));
        var ciphertext = file.Ciphertext.ToByteArray();
        ciphertext[3] ^= 0x80;
        file.Ciphertext = ByteString.CopyFrom(ciphertext);
        Assert.False(PrivacyExport.TryOpen(Suite, file.ToByteArray(), _recipient.AsDecryptionKey(), out _, out var error));
        Assert.Equal(ErrorCode.EnvelopeInvalid, error.Code);
        Assert.False(PrivacyExport.TryOpen(Suite, [1, 2, 3, 4], _recipient.AsDecryptionKey(), out _, out error));
        Assert.Equal(ErrorCode.Malformed, error.Code);
    }

    public void Dispose()
    {
        _recipient.Dispose();
        _other.Dispose();
    }
}

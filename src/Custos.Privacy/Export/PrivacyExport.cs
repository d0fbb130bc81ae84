using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Export;

/// <summary>
/// Encrypted exports and backups of private data (§14.4: "备份和导出的信息应加密处理，并向客户提供解密手段"; PRI-4).
/// The contents are sealed with SM4-GCM (AES-256-GCM on intl) under a fresh key, and that key is SM2-encrypted to the
/// one recipient, who alone can open the file. The associated data binds format, suite and recipient, so a file
/// whose header was edited does not open.
/// </summary>
public static class PrivacyExport
{
    public const string Format = "custos-privacy-export/1";
    public const int FileSizeBytesMax = 64 * 1024 * 1024;
    private const int NonceSizeBytes = 12;

    public static byte[] Seal(ICryptoSuite suite, PublicKey recipient, PrivacyExportContents contents)
    {
        if (recipient.Suite != suite.Id) throw new CustosException(ErrorCode.SuiteMismatch, $"the recipient's key is not a {suite.Name} key");
        var plaintext = contents.ToByteArray();
        if (plaintext.Length > FileSizeBytesMax - 4096) throw new CustosException(ErrorCode.TooLarge, $"an export is at most {FileSizeBytesMax} bytes");
        var key = RandomNumberGenerator.GetBytes(suite.AeadKeySizeBytes);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSizeBytes);
            var file = new PrivacyExportFile
            {
                Format = Format,
                Suite = suite.Name,
                RecipientPublicKey = ByteString.CopyFrom(recipient.Encoded),
                WrappedKey = UnsafeByteOperations.UnsafeWrap(suite.Encrypt(recipient, key)),
                Nonce = UnsafeByteOperations.UnsafeWrap(nonce),
            };
            file.Ciphertext = UnsafeByteOperations.UnsafeWrap(suite.AeadEncrypt(key, nonce, plaintext, AssociatedData(file)));
            return file.ToByteArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Opens an export with the recipient's key. A file made for another key is refused with
    /// <see cref="ErrorCode.NotAuthorised"/>; a damaged or edited one with <see cref="ErrorCode.EnvelopeInvalid"/>.
    /// </summary>
    public static bool TryOpen(ICryptoSuite suite, ReadOnlySpan<byte> encoded, IDecryptionKey recipient, out PrivacyExportContents contents, out CustosError error)
    {
        contents = null!;
        if (encoded.Length > FileSizeBytesMax) return Fail(ErrorCode.TooLarge, $"an export is at most {FileSizeBytesMax} bytes", out error);
        PrivacyExportFile file;
        try
        {
            file = PrivacyExportFile.Parser.ParseFrom(encoded);
        }
        catch (InvalidProtocolBufferException)
        {
            return Fail(ErrorCode.Malformed, "the export does not decode", out error);
        }

        if (file.Format != Format) return Fail(ErrorCode.UnsupportedVersion, $"the export's format is not {Format}", out error);
        if (file.Suite != suite.Name) return Fail(ErrorCode.SuiteMismatch, $"the export was made on suite '{file.Suite}', not {suite.Name}", out error);
        if (!file.RecipientPublicKey.Span.SequenceEqual(recipient.PublicKey.Encoded)) return Fail(ErrorCode.NotAuthorised, "the export was made for another recipient", out error);
        if (file.Nonce.Length != NonceSizeBytes) return Fail(ErrorCode.EnvelopeInvalid, "the export's nonce has the wrong size", out error);
        if (!recipient.TryDecrypt(file.WrappedKey.Span, out var key)) return Fail(ErrorCode.EnvelopeInvalid, "the export's key does not decrypt with this key", out error);
        try
        {
            if (key.Length != suite.AeadKeySizeBytes) return Fail(ErrorCode.EnvelopeInvalid, "the export's key has the wrong size", out error);
            if (!suite.TryAeadDecrypt(key, file.Nonce.Span, file.Ciphertext.Span, AssociatedData(file), out var plaintext))
            {
                return Fail(ErrorCode.EnvelopeInvalid, "the export's contents do not decrypt: the file was damaged or edited", out error);
            }

            try
            {
                contents = PrivacyExportContents.Parser.ParseFrom(plaintext);
            }
            catch (InvalidProtocolBufferException)
            {
                return Fail(ErrorCode.EnvelopeInvalid, "the export's contents do not decode", out error);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        error = null!;
        return true;
    }

    private static byte[] AssociatedData(PrivacyExportFile file) =>
        new LengthPrefixedWriter()
            .Add(PrivacyDomains.ExportAssociatedData)
            .Add(file.Format)
            .Add(file.Suite)
            .Add(file.RecipientPublicKey.Span)
            .ToArray();

    private static bool Fail(ErrorCode code, string message, out CustosError error)
    {
        error = new CustosError(code, message);
        return false;
    }
}

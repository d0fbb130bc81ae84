using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Identity;

/// <summary>RFC 7468 textual encoding, as openssl and every PKI tool read it.</summary>
public static class Pem
{
    public static string Encode(string label, ReadOnlySpan<byte> der) =>
        new string(System.Security.Cryptography.PemEncoding.Write(label, der)) + "\n";

    public static byte[] Decode(string label, string pem)
    {
        if (!System.Security.Cryptography.PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] != label)
        {
            throw new CustosException(ErrorCode.CertificateMalformed, $"no PEM block labelled {label}");
        }

        return Convert.FromBase64String(pem[fields.Base64Data]);
    }

    /// <summary>All blocks with the label, in order (a bundle of CA certificates, for example).</summary>
    public static IReadOnlyList<byte[]> DecodeAll(string label, string pem)
    {
        var blocks = new List<byte[]>();
        var rest = pem.AsSpan();
        while (System.Security.Cryptography.PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(label)) blocks.Add(Convert.FromBase64String(rest[fields.Base64Data].ToString()));
            rest = rest[fields.Location.End..];
        }

        return blocks;
    }
}

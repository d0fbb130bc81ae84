using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;

namespace Custos.Network.Tls;

/// <summary>
/// This side's certificate and the key that signs for it (a key file or an HSM key). The key is borrowed: the
/// owner disposes it.
/// </summary>
public sealed class TlsIdentity
{
    public TlsIdentity(ConsortiumCertificate certificate, ISigningKey key)
    {
        if (!certificate.PublicKey.Equals(key.PublicKey))
        {
            throw new CustosException(ErrorCode.PublicKeyInvalid, $"the key does not belong to the certificate {certificate.Subject}");
        }

        Certificate = certificate;
        Key = key;
    }

    public ConsortiumCertificate Certificate { get; }

    public ISigningKey Key { get; }

    public string Name => Certificate.CommonName;
}

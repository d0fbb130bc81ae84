using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;

namespace Custos.Network.Tls;

/// <summary>
/// The certificate validator in force (consortium CAs from genesis and governance, revocations) and the clock it
/// judges validity periods by. Governance replaces the validator with <see cref="Update"/>; the network then checks
/// every connected peer again and cuts those no longer trusted. Thread-safe.
/// </summary>
public sealed class TrustStore
{
    private volatile CertificateValidator _current;

    public TrustStore(CertificateValidator validator, TimeProvider? clock = null)
    {
        _current = validator;
        Clock = clock ?? TimeProvider.System;
    }

    public CertificateValidator Current => _current;

    public TimeProvider Clock { get; }

    public ICryptoSuite Suite => _current.Suite;

    /// <summary>Raised after <see cref="Update"/>, on the caller's thread.</summary>
    public event Action<CertificateValidator>? Updated;

    public void Update(CertificateValidator validator)
    {
        if (validator.Suite.Id != _current.Suite.Id)
        {
            throw new CustosException(ErrorCode.SuiteMismatch, $"a chain's suite never changes: the trust store is '{_current.Suite.Name}', the new validator '{validator.Suite.Name}'");
        }

        _current = validator;
        Updated?.Invoke(validator);
    }

    public bool TryValidate(ReadOnlySpan<byte> der, IReadOnlyCollection<CertificateRole> roles, out ValidatedIdentity identity, out CustosError error) =>
        _current.TryValidate(der, Clock.GetUtcNow(), roles, out identity, out error);

    public bool TryValidate(ConsortiumCertificate certificate, IReadOnlyCollection<CertificateRole> roles, out ValidatedIdentity identity, out CustosError error) =>
        _current.TryValidate(certificate, Clock.GetUtcNow(), roles, out identity, out error);
}

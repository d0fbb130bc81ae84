namespace Custos.Identity;

/// <summary>
/// Object identifiers Custos defines. They live under a UUID-based arc (ITU-T X.667, 2.25.&lt;uuid&gt;), which needs no
/// registration and cannot collide with anyone else's. They are part of the format and frozen by golden tests.
/// </summary>
public static class CustosOids
{
    public const string Arc = "2.25.157558823564724582895549995043318333056";

    /// <summary>Certificate extension carrying the holder's <see cref="CertificateRole"/> as a DER ENUMERATED. Non-critical,
    /// so generic X.509 tools (openssl) still verify the chain; Custos refuses a certificate without it.</summary>
    public const string RoleExtension = Arc + ".1.1";

    /// <summary>Reserved: the escrowed real identity carried by pseudonym certificates (identity issue).</summary>
    public const string PseudonymEscrowExtension = Arc + ".1.2";

    public const string Sm2WithSm3 = "1.2.156.10197.1.501";
    public const string Sm2Curve = "1.2.156.10197.1.301";
    public const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";
    public const string P256Curve = "1.2.840.10045.3.1.7";
}

/// <summary>What a certificate's holder may do. Values are frozen: they are encoded in certificates.</summary>
public enum CertificateRole
{
    /// <summary>Submits transactions on its own account.</summary>
    Client = 1,

    /// <summary>A node of the network (validator, observer or supervisor node).</summary>
    Node = 2,

    /// <summary>An organisation's administrator: governance proposals and votes, node management.</summary>
    Admin = 3,

    /// <summary>The supervisory authority: audit, freeze, identity opening under due process.</summary>
    Regulator = 4,

    /// <summary>An organisation's registrar: opens accounts and issues pseudonym credentials.</summary>
    Registrar = 5,
}

/// <summary>Key usage bits as numbered in RFC 5280 §4.2.1.3.</summary>
public enum KeyUsageBit
{
    DigitalSignature = 0,
    NonRepudiation = 1,
    KeyEncipherment = 2,
    DataEncipherment = 3,
    KeyAgreement = 4,
    KeyCertSign = 5,
    CrlSign = 6,
}

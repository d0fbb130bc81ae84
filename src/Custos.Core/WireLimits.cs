namespace Custos.Core;

/// <summary>
/// Upper bounds checked before any allocation a decoder makes. They bound what a peer or client can make a node do.
/// </summary>
public static class WireLimits
{
    public const int TransactionSizeBytesMax = 128 * 1024;
    public const int TransactionArgumentsSizeBytesMax = 96 * 1024;
    public const int ChainIdLengthMax = 64;
    public const int ContractNameLengthMax = 64;
    public const int MethodNameLengthMax = 64;
    public const int PublicKeySizeBytes = 65;
    public const int SignatureSizeBytes = 64;
    public const int ValidatorsMax = 256;
    public const int VoteSizeBytesMax = 1024;
    public const int QuorumCertificateSizeBytesMax = 1024 + ValidatorsMax * (SignatureSizeBytes + 8);
    public const int TimeoutSizeBytesMax = 2048 + QuorumCertificateSizeBytesMax;
    public const int TimeoutCertificateSizeBytesMax = ValidatorsMax * (VoteSizeBytesMax + 16);
    public const int BlockHeaderSizeBytesMax = 4096 + QuorumCertificateSizeBytesMax + TimeoutCertificateSizeBytesMax;
    public const int BlockTransactionsMax = 20_000;
    public const int BlockSizeBytesMax = 64 * 1024 * 1024;
    public const int CertificateSizeBytesMax = 16 * 1024;
}

using Custos.Core;
using Custos.Execution;
using Custos.Identity;
using Custos.Network;
using Custos.Network.Tls;

namespace Custos.Node;

/// <summary>
/// Keeps the node's view of who belongs to the consortium in step with governance (CON-7, GOV-1): the CAs it trusts
/// for TLS are genesis's, the node configuration's and those of organisations admitted on chain (removed ones are
/// dropped), and every node registered on chain with a P2P address becomes a peer. Applied at start and after any
/// committed block that wrote the consortium registry.
/// </summary>
internal sealed class ConsortiumMembership(ChainSetup chain, string self, TrustStore trust, IPeerNetwork network, IReadOnlyList<ConsortiumCertificate> configured, NodeLog log)
{
    private static readonly byte[] RegistryPrefix = StateKeys.For(ConsortiumRegistry.Namespace, ReadOnlySpan<byte>.Empty);
    private string _authorities = "";

    /// <summary>True when a block's writes touched the consortium registry.</summary>
    public static bool Touches(WriteSet writes) => writes.Changes.Any(c => c.Key.AsSpan().StartsWith(RegistryPrefix));

    public void Apply(IStateReader state)
    {
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var admitted = new List<ConsortiumCertificate>();
        foreach (var organisation in ConsortiumRegistry.LoadOrganisations(state))
        {
            if (organisation.Removed) removed.Add(organisation.Id);
            else if (!string.IsNullOrEmpty(organisation.CaCertificatePem))
            {
                try
                {
                    admitted.Add(ConsortiumCertificate.FromPem(organisation.CaCertificatePem, chain.Suite));
                }
                catch (CustosException e)
                {
                    log.Warn("organisation-ca-unusable", ("organisation", organisation.Id), ("reason", e.Message));
                }
            }
        }

        var authorities = chain.Genesis.Organisations
            .Where(o => !removed.Contains(o.Id))
            .Select(o => ConsortiumCertificate.FromPem(o.CaCertificate, chain.Suite))
            .Concat(configured)
            .Concat(admitted)
            .DistinctBy(c => c.Fingerprint)
            .ToList();
        var fingerprints = string.Join(",", authorities.Select(a => a.Fingerprint.ToString()).Order(StringComparer.Ordinal));
        if (fingerprints != _authorities)
        {
            // The node loads no revocation lists today (nothing else updates its trust), so none are dropped here.
            trust.Update(new CertificateValidator(chain.Suite, authorities));
            if (_authorities.Length > 0) log.Info("trust-updated", ("authorities", authorities.Count), ("removed", removed.Count));
            _authorities = fingerprints;
        }

        foreach (var node in ConsortiumRegistry.LoadNodes(state))
        {
            if (node.Node == self || string.IsNullOrEmpty(node.P2PEndpoint) || removed.Contains(node.Organisation)) continue;
            if (!PeerEndpoint.TryCreate(node.Node, node.P2PEndpoint, out var endpoint, out var error))
            {
                log.Warn("registered-node-unreachable", ("node", node.Node), ("reason", error.Message));
                continue;
            }

            chain.NodeIdFor(node.Node);
            if (network.AddPeer(endpoint)) log.Info("peer-admitted", ("node", node.Node), ("address", endpoint.Address), ("organisation", node.Organisation));
        }
    }
}

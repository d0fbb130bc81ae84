using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;
using Custos.Network.Tls;
using Custos.Privacy.Audit;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Custos.Node.Api;

/// <summary>
/// Who calls the private data endpoints: a request signed like every REST call (<see cref="RequestSignature"/>),
/// whose certificate names the caller (its common name) and organisation. The audit log records both.
/// </summary>
internal sealed class PrivateDataAccess(RequestSignature signature, TrustStore trust)
{
    public bool TryAuthenticate(HttpRequest request, out ValidatedIdentity identity, out CustosError error)
    {
        identity = null!;
        if (signature.Check(request) is { } refusal)
        {
            error = refusal;
            return false;
        }

        // The signature check validated this certificate and proved the header base64; validate again for the identity.
        var der = Convert.FromBase64String(request.Headers[RequestSignature.CertificateHeader].ToString());
        return trust.TryValidate(der, HandshakePolicy.ClientRoles, out identity, out error);
    }
}

/// <summary>
/// The REST endpoints of the "verified by designated nodes" strategy (PRI-2), mapped on the node's HTTP listener
/// (they check their own access). The record's address is in the path: contract, collection, and the key in
/// hexadecimal. Writing, reading and purging are for clients of this node's organisation only; the commitment is for
/// any consortium client. JSON bytes are hexadecimal, except the value (base64).
/// <list type="bullet">
/// <item><c>PUT /v1/private/{contract}/{collection}/{key}?purpose=&amp;valueHash=</c>: the body is the value (at most 1 MiB),
/// and <c>valueHash</c> its suite hash in hexadecimal, so that the request signature binds the value too. Stores
/// it, queues its replica for the other entitled organisations' nodes, and returns <c>commitment</c> and
/// <c>previousCommitment</c> (the one on chain now, or null), which the client commits with system.privacy / commit.</item>
/// <item><c>GET /v1/private/{contract}/{collection}/{key}?purpose=</c>: the value, its opening (<c>salt</c>,
/// <c>commitment</c>), the on-chain commitment and whether the opening verifies against it. The read is logged
/// (caller, organisation, purpose) before the value is returned.</item>
/// <item><c>POST /v1/private/{contract}/{collection}/{key}/purge?reason=</c>: deletes the value here and at the
/// other entitled organisations' nodes; the commitment stays.</item>
/// <item><c>POST /v1/private/export?recipient=&amp;purpose=</c>: an administrator's backup of every live record, sealed
/// (<c>PrivacyExport</c>) to the recipient public key given in hexadecimal; each record exported is logged.</item>
/// <item><c>GET /v1/private/{contract}/{collection}/{key}/commitment</c>: the commitment held here, whether it was
/// purged, and the one on chain. No value is read. Who purged and why is shown to this organisation's clients only.</item>
/// </list>
/// Purpose, reason and the value's hash travel in the query, so the request signature covers them: a captured request
/// cannot be replayed with another value.
/// </summary>
internal static class PrivateDataApi
{
    public const string RecordPath = "/v1/private/{contract}/{collection}/{key}";

    /// <summary>Purposes and reasons are logged; the audit log bounds its fields.</summary>
    public const int PurposeSizeBytesMax = PrivacyAuditLog.FieldSizeBytesMax;

    public static IEndpointRouteBuilder MapPrivateData(this IEndpointRouteBuilder routes, PrivateDataService privacy, PrivateDataAccess access)
    {
        routes.MapPut(RecordPath, async (HttpRequest request, string contract, string collection, string key) =>
        {
            if (!TryCaller(request, access, privacy, out var identity, out var refusal)) return HttpApi.Problem(refusal);
            try
            {
                var keyBytes = ParseKey(key);
                var reader = Reader(identity, request, "purpose");
                var value = await ReadValueAsync(request).ConfigureAwait(false);
                RequireSignedValue(request, privacy, value);
                var put = privacy.Put(contract, collection, keyBytes, value, reader);
                return Results.Json(new
                {
                    commitment = put.Commitment.ToString(),
                    previousCommitment = put.OnChain?.ToString(),
                    sentTo = put.SentTo,
                });
            }
            catch (CustosException e)
            {
                return HttpApi.Problem(e.Error);
            }
        }).WithName("PutPrivateData");

        routes.MapGet(RecordPath, (HttpRequest request, string contract, string collection, string key) =>
        {
            if (!TryCaller(request, access, privacy, out var identity, out var refusal)) return HttpApi.Problem(refusal);
            try
            {
                var keyBytes = ParseKey(key);
                if (!privacy.TryRead(contract, collection, keyBytes, Reader(identity, request, "purpose"), out var read, out var onChain, out var error))
                {
                    return HttpApi.Problem(error);
                }

                var onChainCommitment = onChain is not null && Hash32.TryCreate(onChain.Commitment.Span, out var committed) ? committed : (Hash32?)null;
                return Results.Json(new
                {
                    value = Convert.ToBase64String(read.Value),
                    salt = Convert.ToHexStringLower(read.Proof.Salt),
                    commitment = read.Proof.Commitment.ToString(),
                    onChainCommitment = onChainCommitment?.ToString(),
                    onChainVersion = onChain?.Version,
                    verified = onChainCommitment is { } chain && read.Proof.Verify(privacy.Suite, read.Value, chain),
                });
            }
            catch (CustosException e)
            {
                return HttpApi.Problem(e.Error);
            }
        }).WithName("ReadPrivateData");

        routes.MapPost(RecordPath + "/purge", (HttpRequest request, string contract, string collection, string key) =>
        {
            if (!TryCaller(request, access, privacy, out var identity, out var refusal)) return HttpApi.Problem(refusal);
            try
            {
                var keyBytes = ParseKey(key);
                var reason = Required(request, "reason");
                var by = new PrivacyReader(identity.CommonName, identity.Organisation, "purge: " + reason);
                if (!privacy.TryPurge(contract, collection, keyBytes, by, reason, out var notice, out var sentTo, out var error)) return HttpApi.Problem(error);
                return Results.Json(new
                {
                    commitment = Convert.ToHexStringLower(notice.Commitment.Span),
                    purgedBy = notice.Purge.By,
                    reason = notice.Purge.Reason,
                    purgedAtMs = notice.Purge.PurgedAtMs,
                    sentTo,
                });
            }
            catch (CustosException e)
            {
                return HttpApi.Problem(e.Error);
            }
        }).WithName("PurgePrivateData");

        routes.MapGet(RecordPath + "/commitment", (HttpRequest request, string contract, string collection, string key) =>
        {
            if (!access.TryAuthenticate(request, out var identity, out var refusal)) return HttpApi.Problem(refusal);
            try
            {
                var commitments = privacy.Commitments(contract, collection, ParseKey(key));
                // Who purged and why may name the customer's request; only this organisation's clients see it.
                var own = identity.Organisation == privacy.Organisation;
                return Results.Json(new
                {
                    held = commitments.Held?.ToString(),
                    purged = commitments.Purge is not null,
                    purgedAtMs = commitments.Purge?.PurgedAtMs,
                    purgedBy = own ? commitments.Purge?.By : null,
                    purgeReason = own ? commitments.Purge?.Reason : null,
                    onChain = commitments.OnChain is { } chain
                        ? new { commitment = Convert.ToHexStringLower(chain.Commitment.Span), version = chain.Version, organisation = chain.Organisation, height = chain.Height }
                        : null,
                });
            }
            catch (CustosException e)
            {
                return HttpApi.Problem(e.Error);
            }
        }).WithName("GetPrivateDataCommitment");

        // A backup for the organisation's backup operator: sealed to the recipient key given, so the file a node
        // hands out is useless to anyone else. Administrators only; the export of each record is logged.
        routes.MapPost("/v1/private/export", (HttpRequest request) =>
        {
            if (!TryCaller(request, access, privacy, out var identity, out var refusal)) return HttpApi.Problem(refusal);
            if (identity.Role != CertificateRole.Admin)
            {
                return HttpApi.Problem(new CustosError(ErrorCode.NotAuthorised, "an export of private data is for an administrator of this node's organisation"));
            }

            try
            {
                var recipientHex = Required(request, "recipient");
                byte[] encoded;
                try
                {
                    encoded = Convert.FromHexString(recipientHex);
                }
                catch (FormatException)
                {
                    throw new CustosException(ErrorCode.Malformed, "the recipient is a hexadecimal public key");
                }

                if (!privacy.Suite.TryDecodePublicKey(encoded, out var recipient, out var invalid)) throw new CustosException(invalid.Code, invalid.Message);
                var sealedExport = privacy.ExportBackup(recipient, Reader(identity, request, "purpose"));
                return Results.Bytes(sealedExport, "application/octet-stream");
            }
            catch (CustosException e)
            {
                return HttpApi.Problem(e.Error);
            }
        }).WithName("ExportPrivateData");

        return routes;
    }

    /// <summary>An authenticated client of this node's organisation: a node keeps and reads private data for its own organisation only.</summary>
    private static bool TryCaller(HttpRequest request, PrivateDataAccess access, PrivateDataService privacy, out ValidatedIdentity identity, out CustosError error)
    {
        if (!access.TryAuthenticate(request, out identity, out error)) return false;
        if (identity.Organisation == privacy.Organisation) return true;
        error = new CustosError(ErrorCode.NotEntitled, $"this node keeps private data for {privacy.Organisation}; a client of {identity.Organisation} uses its own organisation's node");
        return false;
    }

    private static PrivacyReader Reader(ValidatedIdentity identity, HttpRequest request, string parameter) =>
        new(identity.CommonName, identity.Organisation, Required(request, parameter));

    private static string Required(HttpRequest request, string parameter)
    {
        var text = request.Query[parameter].ToString();
        if (string.IsNullOrWhiteSpace(text) || Encoding.UTF8.GetByteCount(text) > PurposeSizeBytesMax)
        {
            throw new CustosException(ErrorCode.InvalidField, $"the query parameter '{parameter}' is required, at most {PurposeSizeBytesMax} bytes");
        }

        return text;
    }

    private static byte[] ParseKey(string hex)
    {
        if (hex.Length == 0 || hex.Length > 2 * PrivateDataStore.KeySizeBytesMax) throw new CustosException(ErrorCode.InvalidLength, $"a private key has 1 to {PrivateDataStore.KeySizeBytesMax} bytes");
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            throw new CustosException(ErrorCode.Malformed, "the key is hexadecimal");
        }
    }

    /// <summary>The signature covers the query, not the body: the query's <c>valueHash</c> binds the body to it.</summary>
    private static void RequireSignedValue(HttpRequest request, PrivateDataService privacy, byte[] value)
    {
        var claimed = request.Query["valueHash"].ToString();
        if (claimed.Length == 0) throw new CustosException(ErrorCode.InvalidField, "a private value is written with valueHash, the hexadecimal hash of the body, in the signed query");
        if (!string.Equals(claimed, privacy.Suite.Hash(value).ToString(), StringComparison.OrdinalIgnoreCase))
        {
            throw new CustosException(ErrorCode.InvalidField, "the body is not the value whose hash the signed query names");
        }
    }

    /// <summary>Reads the body, refusing one larger than a private value before reading past the limit.</summary>
    private static async Task<byte[]> ReadValueAsync(HttpRequest request)
    {
        if (request.ContentLength > PrivateDataStore.ValueSizeBytesMax) throw TooLarge();
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > PrivateDataStore.ValueSizeBytesMax) throw TooLarge();
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static CustosException TooLarge() => new(ErrorCode.TooLarge, $"a private value is at most {PrivateDataStore.ValueSizeBytesMax} bytes");
}

using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Network.Tls;
using Custos.Node.Api;
using Custos.Node.Tests.Support;
using CsCheck;
using Microsoft.AspNetCore.Http;

namespace Custos.Node.Tests;

public sealed class RequestSignatureTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly long NowMs = Now.ToUnixTimeMilliseconds();

    private readonly TestConsortium _consortium = TestConsortium.Intl;
    private readonly RequestSignature _signature;

    public RequestSignatureTests()
    {
        var clock = new FixedClock(Now);
        _signature = new RequestSignature(new TrustStore(_consortium.Genesis.CreateValidator(), clock), clock);
    }

    private TestUser Client => _consortium.Payer;

    private static HttpRequest Request(string method, string path, string query, IEnumerable<KeyValuePair<string, string>> headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        foreach (var (name, value) in headers) context.Request.Headers[name] = value;
        return context.Request;
    }

    private static IEnumerable<KeyValuePair<string, string>> Signed(ISigningKey key, ConsortiumCertificate certificate, string method, string pathAndQuery, long timestampMs) =>
        RequestSignature.Sign(key, certificate.Der, method, pathAndQuery, timestampMs);

    private IEnumerable<KeyValuePair<string, string>> SignedByClient(string method, string pathAndQuery, long? timestampMs = null) =>
        Signed(Client.Key, Client.Certificate, method, pathAndQuery, timestampMs ?? NowMs);

    [Fact]
    public void Request_signed_by_a_client_certificate_is_accepted()
    {
        var request = Request("GET", "/v1/state/00ff", "?version=3", SignedByClient("GET", "/v1/state/00ff?version=3"));

        Assert.Null(_signature.Check(request));
    }

    [Fact]
    public void Every_client_role_may_sign_requests()
    {
        // An administrator is not of the client role, but the API serves every role except nodes.
        var admin = _consortium.Users.First(u => u.Certificate.Role == CertificateRole.Admin);
        var request = Request("POST", "/v1/transactions", "", Signed(admin.Key, admin.Certificate, "POST", "/v1/transactions", NowMs));

        Assert.Null(_signature.Check(request));
    }

    [Fact]
    public void Request_within_the_allowed_skew_is_accepted_on_both_sides()
    {
        var early = NowMs - (long)TimeSpan.FromMinutes(4).TotalMilliseconds;
        var late = NowMs + (long)TimeSpan.FromMinutes(4).TotalMilliseconds;

        Assert.Null(_signature.Check(Request("GET", "/v1/status", "", SignedByClient("GET", "/v1/status", early))));
        Assert.Null(_signature.Check(Request("GET", "/v1/status", "", SignedByClient("GET", "/v1/status", late))));
    }

    [Fact]
    public void Signature_for_another_path_is_refused()
    {
        var request = Request("GET", "/v1/blocks/2", "", SignedByClient("GET", "/v1/blocks/1"));

        Assert.Equal(ErrorCode.SignatureInvalid, _signature.Check(request)?.Code);
    }

    [Fact]
    public void Signature_for_another_query_is_refused()
    {
        var request = Request("GET", "/v1/state/00ff", "?version=4", SignedByClient("GET", "/v1/state/00ff?version=3"));

        Assert.Equal(ErrorCode.SignatureInvalid, _signature.Check(request)?.Code);
    }

    [Fact]
    public void Signature_for_another_method_is_refused()
    {
        var request = Request("POST", "/v1/transactions", "", SignedByClient("GET", "/v1/transactions"));

        Assert.Equal(ErrorCode.SignatureInvalid, _signature.Check(request)?.Code);
    }

    [Fact]
    public void Any_other_path_or_query_than_the_signed_one_is_refused()
    {
        var segment = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-_."].Array[1, 12].Select(chars => new string(chars));
        Gen.Select(segment, segment, segment).Sample(parts =>
        {
            var (signedPath, sentPath, query) = parts;
            var headers = SignedByClient("GET", $"/v1/{signedPath}?q={query}").ToList();

            Assert.Null(_signature.Check(Request("GET", $"/v1/{signedPath}", $"?q={query}", headers)));
            var other = Request("GET", $"/v1/{sentPath}", $"?q={query}", headers);
            Assert.Equal(signedPath == sentPath ? null : ErrorCode.SignatureInvalid, _signature.Check(other)?.Code);
            Assert.Equal(ErrorCode.SignatureInvalid, _signature.Check(Request("GET", $"/v1/{signedPath}", $"?q={query}x", headers))?.Code);
        }, iter: 40);
    }

    [Theory]
    [InlineData(-6)]
    [InlineData(6)]
    [InlineData(-24 * 60)]
    public void Timestamp_more_than_five_minutes_from_the_clock_is_refused(int minutes)
    {
        var timestamp = NowMs + (long)TimeSpan.FromMinutes(minutes).TotalMilliseconds;
        var request = Request("GET", "/v1/status", "", SignedByClient("GET", "/v1/status", timestamp));

        Assert.Equal(ErrorCode.NotAuthorised, _signature.Check(request)?.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData(" 1")]
    [InlineData("1e3")]
    [InlineData("99999999999999999999999")]
    public void Timestamp_that_is_not_a_plain_number_of_milliseconds_is_refused(string timestamp)
    {
        var headers = SignedByClient("GET", "/v1/status")
            .Select(h => h.Key == RequestSignature.TimestampHeader ? new KeyValuePair<string, string>(h.Key, timestamp) : h);

        Assert.Equal(ErrorCode.NotAuthorised, _signature.Check(Request("GET", "/v1/status", "", headers))?.Code);
    }

    [Fact]
    public void Certificate_from_an_unknown_CA_is_refused()
    {
        // Same organisation name, another CA key: the consortium does not know it.
        var rogue = CertificateAuthority.CreateRoot("org1", CryptoSuites.Intl.GenerateKey(), CryptoSuites.Intl, TimeSpan.FromDays(1));
        var key = CryptoSuites.Intl.GenerateKey();
        var certificate = rogue.Issue(new CertificateRequest("client1@org1", CertificateRole.Client, key.PublicKey));
        var request = Request("GET", "/v1/status", "", Signed(key, certificate, "GET", "/v1/status", NowMs));

        Assert.Equal(ErrorCode.CertificateUntrusted, _signature.Check(request)?.Code);
    }

    [Fact]
    public void Node_certificate_may_not_sign_client_requests()
    {
        var request = Request("GET", "/v1/status", "", Signed(_consortium.ValidatorKeys[0], _consortium.NodeCertificates[0], "GET", "/v1/status", NowMs));

        Assert.Equal(ErrorCode.CertificateWrongRole, _signature.Check(request)?.Code);
    }

    [Fact]
    public void Signature_by_a_key_other_than_the_certificates_is_refused()
    {
        var other = _consortium.Payee;
        var request = Request("GET", "/v1/status", "", Signed(other.Key, Client.Certificate, "GET", "/v1/status", NowMs));

        Assert.Equal(ErrorCode.SignatureInvalid, _signature.Check(request)?.Code);
    }

    [Theory]
    [InlineData(RequestSignature.CertificateHeader)]
    [InlineData(RequestSignature.TimestampHeader)]
    [InlineData(RequestSignature.SignatureHeader)]
    public void Request_missing_a_signature_header_is_not_authorised(string missing)
    {
        var headers = SignedByClient("GET", "/v1/status").Where(h => h.Key != missing);

        Assert.Equal(ErrorCode.NotAuthorised, _signature.Check(Request("GET", "/v1/status", "", headers))?.Code);
    }

    [Fact]
    public void Unsigned_request_is_not_authorised()
    {
        Assert.Equal(ErrorCode.NotAuthorised, _signature.Check(Request("GET", "/v1/status", "", []))?.Code);
    }

    [Theory]
    [InlineData(RequestSignature.CertificateHeader)]
    [InlineData(RequestSignature.SignatureHeader)]
    public void Header_that_is_not_base64_is_malformed(string header)
    {
        var headers = SignedByClient("GET", "/v1/status").Select(h => h.Key == header ? new KeyValuePair<string, string>(h.Key, "%%not-base64%%") : h);

        Assert.Equal(ErrorCode.Malformed, _signature.Check(Request("GET", "/v1/status", "", headers))?.Code);
    }

    [Fact]
    public void Certificate_header_that_is_not_a_certificate_is_refused_as_malformed()
    {
        var headers = SignedByClient("GET", "/v1/status")
            .Select(h => h.Key == RequestSignature.CertificateHeader ? new KeyValuePair<string, string>(h.Key, Convert.ToBase64String(new byte[64])) : h);

        Assert.Equal(ErrorCode.CertificateMalformed, _signature.Check(Request("GET", "/v1/status", "", headers))?.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    public void Signature_of_the_wrong_length_is_refused(int length)
    {
        var headers = SignedByClient("GET", "/v1/status")
            .Select(h => h.Key == RequestSignature.SignatureHeader ? new KeyValuePair<string, string>(h.Key, Convert.ToBase64String(new byte[length])) : h);

        Assert.Equal(ErrorCode.SignatureInvalid, _signature.Check(Request("GET", "/v1/status", "", headers))?.Code);
    }

    [Fact]
    public void Signed_text_binds_method_path_query_and_time_under_its_own_domain()
    {
        var text = System.Text.Encoding.UTF8.GetString(RequestSignature.SignedText("get", "/v1/blocks/1?x=2", 1234));

        Assert.Equal("custos/v1/api_request\0GET\n/v1/blocks/1?x=2\n1234", text);
    }
}

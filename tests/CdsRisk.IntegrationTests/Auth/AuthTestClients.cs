using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>
/// One client of each kind and the settings that make the service trust them: a CDS client (EHR) and an audit client signing
/// JWTs with inline keys, and a scoring client (a PACS) with a static API key bound to one FHIR server and backend credential.
/// </summary>
public sealed class AuthTestClients : IDisposable
{
    public const string ScoringFhirServer = "https://fhir.scoring.example/fhir";
    public const string OtherAllowedFhirServer = "https://fhir.other.example/fhir";
    public const string ScoringCredential = "pacs-backend";
    public const string ScoringClientName = "orthanc-test";

    public TestCdsClient Ehr { get; } = new("https://ehr.auth-tests.example");

    public TestCdsClient Auditor { get; } = new("https://auditor.auth-tests.example");

    public TestCdsClient ScoringSigner { get; } = new("https://ris.auth-tests.example");

    /// <summary>The PACS's API key; the service is given its SHA-256 only.</summary>
    public string ApiKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public Dictionary<string, string?> Settings(string publicBaseUrl, string scoringFhirServer = ScoringFhirServer, string? otherFhirServer = OtherAllowedFhirServer) => new()
    {
        ["Auth:Mode"] = "Required",
        ["Auth:PublicBaseUrl"] = publicBaseUrl,
        ["Auth:Clients:0:Issuer"] = Ehr.Issuer,
        ["Auth:Clients:0:Jwks"] = Ehr.JwksJson,
        ["Audit:Clients:0:Issuer"] = Auditor.Issuer,
        ["Audit:Clients:0:Jwks"] = Auditor.JwksJson,
        ["Fhir:AllowedServers:0"] = scoringFhirServer,
        ["Fhir:AllowedServers:1"] = otherFhirServer,
        ["WriteBack:BackendClients:0:ClientId"] = ScoringCredential,
        ["WriteBack:BackendClients:0:FhirServer"] = scoringFhirServer,
        ["WriteBack:BackendClients:0:TokenUrl"] = "https://fhir.scoring.example/token",
        ["WriteBack:BackendClients:0:AccessToken"] = "test-backend-token",
        ["WriteBack:BackendClients:1:ClientId"] = "other-backend",
        ["WriteBack:BackendClients:1:FhirServer"] = otherFhirServer,
        ["WriteBack:BackendClients:1:TokenUrl"] = "https://fhir.other.example/token",
        ["WriteBack:BackendClients:1:AccessToken"] = "other-backend-token",
        ["Scoring:Clients:0:Name"] = ScoringClientName,
        ["Scoring:Clients:0:ApiKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey))),
        ["Scoring:Clients:0:FhirServer"] = scoringFhirServer,
        ["Scoring:Clients:0:Credential"] = ScoringCredential,
        ["Scoring:Clients:1:Name"] = "ris-test",
        ["Scoring:Clients:1:Issuer"] = ScoringSigner.Issuer,
        ["Scoring:Clients:1:Jwks"] = ScoringSigner.JwksJson,
        ["Scoring:Clients:1:FhirServer"] = scoringFhirServer,
        ["Scoring:Clients:1:Credential"] = ScoringCredential,
    };

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        Ehr.Dispose();
        Auditor.Dispose();
        ScoringSigner.Dispose();
    }
}

/// <summary>HTTP/1.1 over a plain socket, so a test sends the request target byte for byte (no client-side normalisation of case, dot segments or escapes).</summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body);

    public static async Task<Response> SendAsync(int port, string method, string target, string? authorization = null, string? body = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = tcp.GetStream();
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var request = new StringBuilder()
            .Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n")
            .Append("Host: 127.0.0.1:").Append(port).Append("\r\n")
            .Append("Connection: close\r\n");
        if (authorization is not null)
        {
            request.Append("Authorization: ").Append(authorization).Append("\r\n");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (body is not null)
        {
            request.Append("Content-Type: application/json\r\nContent-Length: ").Append(bytes.Length).Append("\r\n");
        }

        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()));
        await stream.WriteAsync(bytes);

        using var received = new MemoryStream();
        await stream.CopyToAsync(received);
        var all = received.ToArray();
        var end = all.AsSpan().IndexOf("\r\n\r\n"u8);
        var head = Encoding.ASCII.GetString(all, 0, end).Split("\r\n");
        var status = int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var parsed = head.Skip(1).Select(l => l.Split(':', 2)).GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => string.Join(",", g.Select(p => p[1].Trim())), StringComparer.OrdinalIgnoreCase);
        var content = all[(end + 4)..];
        if (parsed.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            content = Dechunk(content);
        }

        return new Response(status, parsed, content);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var output = new MemoryStream();
        var at = 0;
        while (at < chunked.Length)
        {
            var lineEnd = chunked.AsSpan(at).IndexOf("\r\n"u8) + at;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, at, lineEnd - at).Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            output.Write(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }

        return output.ToArray();
    }
}

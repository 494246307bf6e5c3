namespace CdsRisk.Api.Fhir;

/// <summary>
/// A base-URL prefix on an allow-list (FHIR servers, DICOMweb servers, JWKS locations, backend clients). Matching compares the
/// normalised scheme, host and port exactly (case-insensitive host, default ports made explicit) and the decoded path by whole,
/// case-sensitive segments after dot segments are resolved (RFC 3986 §5.2.4, §6.2.2), so <c>https://ehr.example/fhir</c> admits
/// <c>https://ehr.example/fhir/Patient/1</c> but not <c>https://ehr.example/fhir-evil</c>, <c>https://ehr.example.evil.com/fhir</c>
/// nor <c>https://ehr.example/fhir/../admin</c>.
/// A URL whose meaning depends on who decodes it is refused outright, whatever its prefix: an encoded separator
/// (<c>%2F</c>, <c>%5C</c>), an encoded percent sign (double decoding), an encoded control character, a backslash, a path
/// parameter (<c>;</c>), an empty segment, or a host with a trailing dot. The path checked is the path sent: the HTTP clients
/// send <see cref="Uri.PathAndQuery"/> of the same <see cref="Uri"/>.
/// </summary>
public sealed class AllowedBaseUrl
{
    private readonly string _scheme;
    private readonly string _host;
    private readonly int _port;
    private readonly string _pathPrefix;

    private AllowedBaseUrl(Uri prefix, string path)
    {
        _scheme = prefix.Scheme;
        _host = prefix.IdnHost;
        _port = prefix.Port;
        _pathPrefix = path.EndsWith('/') ? path : path + "/";
    }

    /// <summary>An allow-list entry: an absolute http(s) URL without user info, query or fragment, and with no ambiguous form.</summary>
    public static bool TryCreate(string? value, out AllowedBaseUrl? allowed)
    {
        allowed = null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || !TryNormalisedPath(uri, out var path))
        {
            return false;
        }

        allowed = new AllowedBaseUrl(uri, path);
        return true;
    }

    /// <summary>The hook's own base (e.g. <c>fhirServer</c>, with or without a trailing slash), or null when it is not a plain, unambiguous URL.</summary>
    public static AllowedBaseUrl? For(Uri? server) =>
        server is not null && server.IsAbsoluteUri && TryCreate(server.GetLeftPart(UriPartial.Path), out var allowed) ? allowed : null;

    public bool Admits(Uri candidate) =>
        TryNormalisedPath(candidate, out var path)
        && string.Equals(candidate.Scheme, _scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(candidate.IdnHost, _host, StringComparison.OrdinalIgnoreCase)
        && candidate.Port == _port
        && (path.EndsWith('/') ? path : path + "/").StartsWith(_pathPrefix, StringComparison.Ordinal);

    public override string ToString() => $"{_scheme}://{_host}:{_port}{_pathPrefix}";

    /// <summary>
    /// The decoded path of a plain http(s) URL, or false for anything ambiguous. <see cref="Uri"/> has already resolved dot
    /// segments (also encoded ones, <c>%2e%2e</c>) and decoded unreserved characters; what it leaves encoded is what a server
    /// might decode differently, so any of it is refused.
    /// </summary>
    private static bool TryNormalisedPath(Uri uri, out string path)
    {
        path = string.Empty;
        if (!uri.IsAbsoluteUri
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.UserInfo)
            || string.IsNullOrEmpty(uri.IdnHost)
            || uri.IdnHost.EndsWith('.'))
        {
            return false;
        }

        // The original text, where it is still the caller's: a backslash is silently turned into '/' by Uri, and encoded dots
        // are resolved by Uri but not by every server; neither has a place in a FHIR or DICOMweb URL.
        var original = uri.OriginalString;
        var originalPath = original.AsSpan(0, IndexOfQueryOrFragment(original));
        if (originalPath.Contains('\\') || originalPath.Contains("%2e", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var escaped = uri.AbsolutePath;
        for (var i = escaped.IndexOf('%', StringComparison.Ordinal); i >= 0; i = escaped.IndexOf('%', i + 1))
        {
            if (i + 2 >= escaped.Length || !IsUnambiguousEscape(escaped[i + 1], escaped[i + 2]))
            {
                return false;
            }
        }

        if (escaped.Contains(';', StringComparison.Ordinal) || escaped.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }

        path = Uri.UnescapeDataString(escaped);
        return true;
    }

    // %2F '/', %5C '\', %25 '%', %2E '.', and C0/DEL controls: a server that decodes them sees another path than the one checked.
    private static bool IsUnambiguousEscape(char high, char low)
    {
        if (!char.IsAsciiHexDigit(high) || !char.IsAsciiHexDigit(low))
        {
            return false;
        }

        var value = Convert.ToByte(string.Concat(high, low), 16);
        return value is >= 0x20 and not 0x7F and not (byte)'/' and not (byte)'\\' and not (byte)'%' and not (byte)'.';
    }

    private static int IndexOfQueryOrFragment(string text)
    {
        var end = text.IndexOfAny(['?', '#']);
        return end < 0 ? text.Length : end;
    }
}

/// <summary>A list of <see cref="AllowedBaseUrl"/>; admits a URL when any entry does.</summary>
public sealed class AllowedBaseUrls(IEnumerable<AllowedBaseUrl> entries)
{
    private readonly AllowedBaseUrl[] _entries = [.. entries];

    public static AllowedBaseUrls Parse(IEnumerable<string> values) =>
        new(values.Select(v => AllowedBaseUrl.TryCreate(v, out var a) ? a! : throw new ArgumentException($"Not an allowed base URL: '{v}'", nameof(values))));

    public bool IsEmpty => _entries.Length == 0;

    public bool Admits(Uri candidate) => _entries.Any(e => e.Admits(candidate));
}

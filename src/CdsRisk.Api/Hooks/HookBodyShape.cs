using System.Buffers;
using System.Text.Json;

namespace CdsRisk.Api.Hooks;

/// <summary>A value's place in a body: <c>[Start, End)</c> in bytes.</summary>
public readonly record struct BodySpan(int Start, int End)
{
    public int Length => End - Start;
}

/// <summary>
/// Where a hook body's two per-call values lie: the <c>hookInstance</c> string and the <c>fhirAuthorization</c> value (null when
/// the member is absent). The bytes outside them are what <see cref="Pipeline.HookAnswerMemo"/> recognises a repeated call by.
/// </summary>
public readonly record struct HookBodyShape(BodySpan Instance, BodySpan? Authorization)
{
    private static readonly SearchValues<byte> Structure = SearchValues.Create("\"{}[]"u8);
    private static readonly SearchValues<byte> StringEnd = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> LiteralEnd = SearchValues.Create(",}] \t\r\n"u8);

    /// <summary>The body outside the two values, in order (two ranges without fhirAuthorization, three with it); returns the count.</summary>
    public int Rest(int bodyLength, Span<Range> ranges)
    {
        if (Authorization is not { } authorization)
        {
            ranges[0] = 0..Instance.Start;
            ranges[1] = Instance.End..bodyLength;
            return 2;
        }

        var (first, second) = Instance.Start < authorization.Start ? (Instance, authorization) : (authorization, Instance);
        ranges[0] = 0..first.Start;
        ranges[1] = first.End..second.Start;
        ranges[2] = second.End..bodyLength;
        return 3;
    }

    /// <summary>
    /// A quick look at the top-level members, stopping as soon as both values are found. It checks only what it passes over, so a
    /// body it accepts need not be valid JSON: the memo takes its word only when everything outside the two values is byte for byte
    /// a body that was read in full and located by <see cref="TryLocate"/>, and then checks the two values themselves.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> body, out HookBodyShape shape)
    {
        shape = default;
        BodySpan? instance = null, authorization = null;
        var i = SkipSpace(body, 0);
        if (i >= body.Length || body[i] != (byte)'{')
        {
            return false;
        }

        i = SkipSpace(body, i + 1);
        while (true)
        {
            if (i >= body.Length || body[i] != (byte)'"')
            {
                return false;
            }

            var nameEnd = EndOfString(body, i);
            if (nameEnd < 0)
            {
                return false;
            }

            var name = body[(i + 1)..(nameEnd - 1)];
            if (name.Contains((byte)'\\'))
            {
                return false; // an escaped name could spell either member
            }

            i = SkipSpace(body, nameEnd);
            if (i >= body.Length || body[i] != (byte)':')
            {
                return false;
            }

            var start = SkipSpace(body, i + 1);
            var end = EndOfValue(body, start);
            if (end < 0)
            {
                return false;
            }

            if (name.SequenceEqual("hookInstance"u8))
            {
                if (instance is not null || body[start] != (byte)'"')
                {
                    return false;
                }

                instance = new BodySpan(start, end);
            }
            else if (name.SequenceEqual("fhirAuthorization"u8))
            {
                if (authorization is not null)
                {
                    return false;
                }

                authorization = new BodySpan(start, end);
            }

            if (instance is not null && authorization is not null)
            {
                break;
            }

            i = SkipSpace(body, end);
            if (i < body.Length && body[i] == (byte)',')
            {
                i = SkipSpace(body, i + 1);
                continue;
            }

            if (i < body.Length && body[i] == (byte)'}' && SkipSpace(body, i + 1) == body.Length)
            {
                break;
            }

            return false;
        }

        if (instance is not { } found)
        {
            return false;
        }

        shape = new HookBodyShape(found, authorization);
        return true;
    }

    /// <summary>
    /// The same two places found by a full JSON reading of the body: null unless the body is one JSON object (within
    /// <paramref name="maxDepth"/>) with exactly one top-level <c>hookInstance</c>, a string, and at most one <c>fhirAuthorization</c>.
    /// </summary>
    public static HookBodyShape? TryLocate(ReadOnlySpan<byte> body, int maxDepth)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            BodySpan? instance = null, authorization = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isInstance = reader.ValueTextEquals("hookInstance"u8);
                var isAuthorization = reader.ValueTextEquals("fhirAuthorization"u8);
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                var isString = reader.TokenType == JsonTokenType.String;
                reader.Skip();
                var span = new BodySpan(start, (int)reader.BytesConsumed);
                if (isInstance)
                {
                    if (instance is not null || !isString)
                    {
                        return null;
                    }

                    instance = span;
                }
                else if (isAuthorization)
                {
                    if (authorization is not null)
                    {
                        return null;
                    }

                    authorization = span;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || instance is not { } found)
            {
                return null;
            }

            return new HookBodyShape(found, authorization);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int SkipSpace(ReadOnlySpan<byte> body, int i)
    {
        while (i < body.Length && body[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    // The index after the closing quote of the string that opens at start; -1 if it does not close.
    private static int EndOfString(ReadOnlySpan<byte> body, int start)
    {
        var i = start + 1;
        while (true)
        {
            var at = i < body.Length ? body[i..].IndexOfAny(StringEnd) : -1;
            if (at < 0)
            {
                return -1;
            }

            i += at;
            if (body[i] == (byte)'"')
            {
                return i + 1;
            }

            i += 2; // a backslash and the byte it escapes
        }
    }

    // The index after the value that starts at start: strings to their closing quote, objects and arrays to their closing bracket
    // (brackets counted outside strings), anything else to the next delimiter; -1 if it does not end.
    private static int EndOfValue(ReadOnlySpan<byte> body, int start)
    {
        if (start >= body.Length)
        {
            return -1;
        }

        switch (body[start])
        {
            case (byte)'"':
                return EndOfString(body, start);
            case (byte)'{' or (byte)'[':
                var depth = 0;
                for (var i = start; ;)
                {
                    var at = i < body.Length ? body[i..].IndexOfAny(Structure) : -1;
                    if (at < 0)
                    {
                        return -1;
                    }

                    i += at;
                    switch (body[i])
                    {
                        case (byte)'"':
                            i = EndOfString(body, i);
                            if (i < 0)
                            {
                                return -1;
                            }

                            continue;
                        case (byte)'{' or (byte)'[':
                            depth++;
                            break;
                        default:
                            depth--;
                            break;
                    }

                    i++;
                    if (depth == 0)
                    {
                        return i;
                    }
                }

            default:
                var end = body[start..].IndexOfAny(LiteralEnd);
                var length = end < 0 ? body.Length - start : end;
                return length > 0 ? start + length : -1;
        }
    }
}

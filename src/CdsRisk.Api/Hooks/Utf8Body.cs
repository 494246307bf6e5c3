using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace CdsRisk.Api.Hooks;

/// <summary>
/// A JSON body must be UTF-8 (RFC 8259 §8.1). The JSON reader leaves string contents to whoever decodes them, so a prefetch value
/// with a broken byte sequence would reach the FHIR parser, or the audit record, as replacement characters; instead the whole body
/// is checked up front (vectorised, a few GB/s) and refused with CDSR-1001 naming the member and the byte offset.
/// </summary>
public static class Utf8Body
{
    public static void EnsureValid(ReadOnlySpan<byte> body)
    {
        if (Utf8.IsValid(body))
        {
            return;
        }

        var offset = FirstInvalidByte(body);
        var path = JsonPathAt(body, offset);
        // Under prefetch, the key is named as the other prefetch errors name it (prefetch.labs); elsewhere the member itself.
        var field = path.StartsWith("prefetch.", StringComparison.Ordinal) ? PrefetchKey(path) : path;
        var message = $"invalid UTF-8 at byte {offset} of the body" + (path == field ? "." : $" ({path}).");
        throw new CdsRiskException(ErrorCodes.MalformedBody, $"The body is not valid UTF-8: {field}: {message}",
            new Dictionary<string, string[]> { [field] = [message] });
    }

    internal static int FirstInvalidByte(ReadOnlySpan<byte> body)
    {
        Span<char> chars = stackalloc char[1024];
        var position = 0;
        while (position < body.Length)
        {
            var status = Utf8.ToUtf16(body[position..], chars, out var read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            if (status is OperationStatus.InvalidData or OperationStatus.NeedMoreData)
            {
                return position + read;
            }

            position += read;
            if (status == OperationStatus.Done)
            {
                break;
            }
        }

        return position;
    }

    /// <summary>The member holding the byte at <paramref name="offset"/>, as <c>prefetch.labs.entry[3].resource.code.text</c>; "body" when it is outside any member.</summary>
    internal static string JsonPathAt(ReadOnlySpan<byte> json, int offset)
    {
        var frames = new List<Frame>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 1024 });
        try
        {
            while (reader.Read())
            {
                var contains = offset >= reader.TokenStartIndex && offset < reader.BytesConsumed;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        frames[^1].Member = contains || !Utf8.IsValid(reader.ValueSpan) ? "?" : Encoding.UTF8.GetString(reader.ValueSpan);
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        NextItem(frames);
                        frames.Add(new Frame(reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        break;
                    default:
                        NextItem(frames);
                        break;
                }

                if (contains)
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON past this point: the path so far is the best answer.
        }

        var path = new StringBuilder();
        foreach (var frame in frames)
        {
            if (frame.IsArray && frame.Index >= 0)
            {
                path.Append('[').Append(frame.Index).Append(']');
            }
            else if (!frame.IsArray && frame.Member is not null)
            {
                path.Append(path.Length == 0 ? string.Empty : ".").Append(frame.Member);
            }
        }

        return path.Length == 0 ? "body" : path.ToString();
    }

    private static void NextItem(List<Frame> frames)
    {
        if (frames.Count > 0 && frames[^1].IsArray)
        {
            frames[^1].Index++;
        }
    }

    private static string PrefetchKey(string path)
    {
        var end = path.IndexOfAny(['.', '['], "prefetch.".Length);
        return end < 0 ? path : path[..end];
    }

    private sealed class Frame(bool isArray)
    {
        public bool IsArray { get; } = isArray;

        public string? Member { get; set; }

        public int Index { get; set; } = -1;
    }
}

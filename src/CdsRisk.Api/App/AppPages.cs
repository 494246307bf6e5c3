using CdsRisk.Api.App.Pages;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CdsRisk.Api.App;

/// <summary>Status pages and the app's one stylesheet (served from /app/app.css: the CSP allows no inline style).</summary>
public static class AppPages
{
    public static IResult Status(int status, string title, string message) =>
        new RazorComponentResult<StatusPage>(new { Title = title, Message = message }) { StatusCode = status };

    public static Task WriteStatusAsync(HttpContext http, int status, string title, string message) => Status(status, title, message).ExecuteAsync(http);

    public const string Css = """
        :root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #fff; }
        body { margin: 0; padding: 0 1rem 2rem; max-width: 72rem; }
        header.app { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; border-bottom: 2px solid #005ea2; padding: .5rem 0; }
        header.app nav a { margin-right: 1rem; }
        a { color: #005ea2; }
        h1 { font-size: 1.4rem; margin: .8rem 0 .4rem; }
        h2 { font-size: 1.15rem; margin: 1.4rem 0 .4rem; border-bottom: 1px solid #ccc; }
        .decision { font-size: 1.1rem; font-weight: 600; padding: .5rem .75rem; border-left: 6px solid #005ea2; background: #eef4fa; }
        .warning { border: 2px solid #b50909; background: #fff0f0; color: #6b0000; padding: .5rem .75rem; margin: .5rem 0; }
        table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
        th, td { text-align: left; vertical-align: top; padding: .3rem .4rem; border-bottom: 1px solid #ddd; overflow-wrap: anywhere; }
        th { background: #f1f1f1; }
        .status-pass { color: #1a6e1a; font-weight: 600; }
        .status-fail { color: #a00000; font-weight: 600; }
        .status-unknown, .status-to-be-confirmed, .status-pending { color: #6b4d00; font-weight: 600; }
        .muted { color: #555; }
        .table-wrap { overflow-x: auto; }
        svg text { font-family: system-ui, sans-serif; }
        form.inline { display: inline; }
        button { font: inherit; padding: .2rem .6rem; }
        .filters label { margin-right: .8rem; display: inline-block; }
        .phases { display: flex; flex-wrap: wrap; gap: .8rem; }
        .phases figure { margin: 0; max-width: 14rem; }
        .phases img { width: 100%; height: auto; background: #000; }
        @media (max-width: 760px) { body { padding: 0 .5rem 1rem; } th, td { padding: .25rem; font-size: .92rem; } }
        """;
}

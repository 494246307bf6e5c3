using CdsRisk.Api.App;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Health;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.OpenApi;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddCdsHooks();
builder.Services.AddCdsClientAuthentication();
builder.Services.AddPatientPseudonyms();
builder.Services.AddCdsRiskStorage();
builder.Services.AddRiskPipeline(builder.Configuration);
builder.Services.AddCdsRiskCors(builder.Configuration);
builder.Services.AddCdsRiskOpenApi();
builder.Services.AddCdsRiskTelemetry(builder.Configuration);
builder.Services.AddSmartApp();
builder.Services.AddReadiness();

var app = builder.Build();
app.UseCdsRisk();
app.UseSmartApp();
app.MapCdsHooks();
app.MapRiskApi();
app.MapSmartApp();
app.MapReadiness();
app.Run();

/// <summary>Entry point; public for WebApplicationFactory.</summary>
public partial class Program;

from django.urls import path

from pos.reports import api

app_name = "reports-api"

urlpatterns = [
    path("sales/", api.SalesReportView.as_view(), name="sales"),
    path("profit/", api.ProfitReportView.as_view(), name="profit"),
    path("inventory/", api.InventoryReportView.as_view(), name="inventory"),
    path("dashboard/", api.DashboardView.as_view(), name="dashboard"),
    path("shifts/<int:pk>/", api.ShiftReportView.as_view(), name="shift"),
    path("sales-lines/export/", api.SalesLinesExportView.as_view(), name="sales-lines-export"),
    path("sales-lines/export/jobs/", api.ExportJobsView.as_view(), name="export-jobs"),
    path("sales-lines/export/jobs/<uuid:pk>/", api.ExportJobView.as_view(), name="export-job"),
    path("sales-lines/export/jobs/<uuid:pk>/download/", api.ExportDownloadView.as_view(), name="export-download"),
]

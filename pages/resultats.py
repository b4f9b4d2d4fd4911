"""Résultats des programmes: funnel, hours vs plan, workshops, follow-up, cohorts, formats."""

import streamlit as st

from dashboard import data, layout
from dashboard.page import start
from pipelines.queries import resultats as q
from pipelines.reports import charts, fmt
from pipelines.spec import referentiels as ref

page = start("resultats", "Résultats des programmes")
scope, where = page.scope, page.where

bundle = data.fetch(q.page_data, scope, page.role)
steps = bundle["entonnoir"]
if steps.empty:
    layout.empty_state()
    st.stop()

layout.secret_note(*(frame for frame in bundle.values()))
st.header("Parcours et volumes")
layout.chart_of_visible(steps, marks=True, draw=lambda shown: charts.funnel(
    shown, "Part des accompagnements ayant atteint chaque étape, par type de programme",
    f"{where} · l'étape enregistrée est la plus avancée atteinte"), key="entonnoir")
layout.data_table(steps, {"programme": ("Type de programme", "texte"), "etape_libelle": ("Étape", "texte"),
                          "accompagnements": ("Accompagnements l'ayant atteinte", "nombre"),
                          "part": ("Part des accueils", "part")}, name="entonnoir")

hours = bundle["heures"]
planned = hours[hours["heures_prevues"].notna()]
if planned.empty:
    st.info("Aucun programme du périmètre n'a renseigné d'heures prévues.", icon=":material/info:")
else:
    layout.chart_of_visible(planned, lambda rows: charts.grouped_bars(
        rows, "programme", {"heures_realisees": "Heures réalisées", "heures_prevues": "Heures prévues"},
        "Heures d'accompagnement réalisées et prévues",
        f"{where} · programmes ayant des heures prévues (prévu : toute la durée du programme)",
        y_title="Heures", horizontal=True, height=max(340, 34 * len(rows) + 160)), key="heures")
layout.data_table(hours, {"programme": ("Programme", "texte"), "heures_realisees": ("Heures réalisées", "decimal"),
                          "heures_prevues": ("Heures prévues", "decimal"), "taux_realisation": ("Réalisé / prévu", "part"),
                          "heures_benevoles": ("Heures bénévoles ou de pairs", "decimal"),
                          "accompagnements": ("Accompagnements", "nombre")}, name="heures_programmes")
volunteered = hours[hours["heures_benevoles"].fillna(0) > 0] if "heures_benevoles" in hours else hours.iloc[0:0]
if len(volunteered):
    st.plotly_chart(charts.grouped_bars(
        volunteered, "programme", {"heures_realisees": "Heures d'accompagnement", "heures_benevoles": "Heures bénévoles ou de pairs"},
        "Heures bénévoles ou de pairs à côté des heures d'accompagnement",
        f"{where} · programmes où des bénévoles ou des pairs ont donné du temps, en heures", horizontal=True,
        height=max(380, 40 * len(volunteered) + 220)), key="heures_benevoles")
    st.caption("Les heures bénévoles ou de pairs sont une ressource non monétaire : elles couvrent une part de "
               "l'accompagnement que les heures payées ne disent pas.")

orientation = bundle.get("orientation")
st.subheader("Comment les structures arrivent : accueil direct ou orientation")
if orientation is None:
    st.caption("Non publié dans la vue financeur : ces parts ne passent pas encore par le cube protégé du secret "
               "statistique.")
elif not orientation.empty:
    labels = {**ref.ORIENTATIONS, "nr": "Non renseignée"}
    shown = orientation.assign(orientation=orientation["orientation"].map(labels).fillna(orientation["orientation"]),
                               part=orientation["part"] * 100)
    wide = shown.pivot_table(index="programme", columns="orientation", values="part", fill_value=0).reset_index()
    order = [labels[c] for c in ("direct", "prescripteur", "reseau", "nr") if labels[c] in wide.columns]
    figure = charts.grouped_bars(wide, "programme", {c: c for c in order},
                                 "Part des accompagnements selon leur orientation, par programme", where,
                                 y_title="% des accompagnements du programme", horizontal=True,
                                 height=max(360, 28 * len(wide) + 200))
    st.plotly_chart(figure.update_layout(barmode="stack"), key="orientation")  # shares of one whole: stacked
    layout.data_table(shown, {"programme": ("Programme", "texte"), "orientation": ("Orientation", "texte"),
                              "accompagnements": ("Accompagnements", "nombre"), "part": ("Part (%)", "decimal")},
                      name="orientation")

st.header("Ateliers collectifs")
workshops = bundle["ateliers"]
st.caption("Un atelier appartient à un programme, non à une structure : sont comptés les ateliers des programmes "
           "présents dans le périmètre, datés dans la période. Le taux de remplissage n'est calculé que là où la "
           "jauge est connue (12 places par atelier pour le programme entre pairs).")
if workshops.empty:
    st.info("Aucun atelier pour ces filtres.", icon=":material/search_off:")
else:
    cards = st.columns(4)
    seats = workshops["places"].sum()
    filled = workshops.loc[workshops["places"].notna(), "participants"].sum()
    cards[0].metric("Ateliers", fmt.nombre(workshops["ateliers"].sum()), border=True)
    cards[1].metric("Participants", fmt.nombre(workshops["participants"].sum()), border=True)
    cards[2].metric("Dont adhérents", fmt.nombre(workshops["adherents"].sum()), border=True)
    cards[3].metric("Taux de remplissage (jauge connue)", fmt.pourcentage(filled / seats) if seats else "—", border=True)
    top = workshops.head(12)
    st.plotly_chart(charts.grouped_bars(top, "programme", {"adherents": "Adhérents", "non_adherents": "Non-adhérents"},
                                        "Participants aux ateliers : adhérents et non-adhérents", where,
                                        y_title="Participants", horizontal=True, height=max(320, 40 * len(top) + 160))
                    .update_layout(barmode="stack"), width="stretch", key="ateliers")
    layout.data_table(workshops, {
        "programme": ("Programme", "texte"), "ateliers": ("Ateliers", "nombre"), "participants": ("Participants", "nombre"),
        "adherents": ("Adhérents", "nombre"), "non_adherents": ("Non-adhérents", "nombre"),
        "places": ("Places offertes", "nombre"), "taux_remplissage": ("Taux de remplissage", "part"),
        "heures": ("Heures d'atelier", "decimal")}, name="ateliers")

st.subheader("Programmes entre pairs : personnes ressources")
peers = bundle.get("pairs")
if peers is None:
    st.caption("Non publié dans la vue financeur : les personnes ressources sont comptées à partir des intervenants, "
               "une donnée personnelle.")
elif peers.empty:
    st.caption("Aucun accompagnement entre pairs dans le périmètre.")
else:
    st.caption("Les membres actifs d'un programme entre pairs accompagnent d'autres structures comme personnes "
               "ressources ; leurs heures sont bénévoles. Une personne ressource compte une fois par programme.")
    cards = st.columns(3)
    cards[0].metric("Personnes ressources", fmt.nombre(peers["personnes_ressources"].sum()), border=True)
    cards[1].metric("Structures accompagnées par des pairs", fmt.nombre(peers["structures"].sum()), border=True)
    cards[2].metric("Heures bénévoles des pairs", fmt.nombre(peers["heures_benevoles"].sum()), border=True)
    layout.table(peers, {
        "programme": ("Programme", "texte"), "personnes_ressources": ("Personnes ressources", "nombre"),
        "structures": ("Structures accompagnées", "nombre"), "accompagnements": ("Accompagnements entre pairs", "nombre"),
        "heures_benevoles": ("Heures bénévoles", "decimal"), "heures_par_personne": ("Heures par personne ressource",
                                                                                     "decimal")}, key="pairs")

st.header("Suivi à la fin, à 6 et à 12 mois")
follow = bundle["suivi"]
if follow.empty:
    st.info("Aucun résultat mesuré pour les accompagnements de ce périmètre.", icon=":material/hourglass_empty:")
else:
    by = follow.set_index("echeance")

    def shown(value, render):
        return fmt.SECRET if value is None else render(value)

    cards = st.columns(3)
    if "12_mois" in by.index:
        row = by.loc["12_mois"]
        cards[0].metric("Structures toujours actives à 12 mois", shown(row["part_active"], fmt.pourcentage),
                        f"sur {fmt.chiffre(row['structures_statut'])} structures suivies", delta_color="off", delta_arrow="off",
                        border=True)
    if "fin" in by.index:
        cards[1].metric("Objectifs atteints en fin d'accompagnement",
                        shown(by.loc["fin", "objectifs_atteints"], lambda v: fmt.pourcentage(v / 100)),
                        "moyenne des mesures", delta_color="off", delta_arrow="off", border=True)
        cards[2].metric("Satisfaction en fin d'accompagnement",
                        shown(by.loc["fin", "satisfaction"], lambda v: f"{fmt.nombre(v, 1)} / 5"), border=True)
    left, right = st.columns(2)
    with left:
        layout.chart_of_visible(follow.assign(secret=follow["etp_avant"].isna()), lambda rows: charts.grouped_bars(
            rows, "echeance_libelle", {"etp_avant": "ETP avant", "etp_apres": "ETP après"},
            "Emplois (ETP) avant et après, mêmes structures", f"{where} · total des structures mesurées aux deux dates",
            y_title="ETP"), key="etp")
    with right:
        layout.chart_of_visible(follow.assign(secret=follow["budget_avant"].isna()), lambda rows: charts.grouped_bars(
            rows, "echeance_libelle", {"budget_avant": "Budget avant", "budget_apres": "Budget après"},
            "Budget moyen avant et après, mêmes structures", f"{where} · euros, structures mesurées aux deux dates",
            y_title="Euros"), key="budget")
    layout.data_table(follow, {
        "echeance_libelle": ("Échéance", "texte"), "mesures": ("Mesures", "nombre"), "structures": ("Structures", "nombre"),
        "objectifs_atteints": ("Objectifs atteints, moyenne (%)", "decimal"), "satisfaction": ("Satisfaction (1 à 5)", "decimal"),
        "structures_etp": ("Structures appariées (ETP)", "nombre"), "etp_avant": ("ETP avant", "decimal"),
        "etp_apres": ("ETP après", "decimal"), "structures_budget": ("Structures appariées (budget)", "nombre"),
        "budget_avant": ("Budget moyen avant (€)", "nombre"), "budget_apres": ("Budget moyen après (€)", "nombre"),
        "part_active": ("Structures actives", "part")}, name="suivi")

st.header("Cohortes et formats")
left, right = st.columns(2)
with left:
    cohorts = bundle["cohortes"]
    layout.chart_of_visible(cohorts.assign(secret=cohorts["structures"].isna()), lambda rows: charts.grouped_bars(
        rows, "annee", {"accompagnements": "Accompagnements", "structures": "Structures"},
        "Cohortes par année de début", where, y_title="Nombre"), key="cohortes")
    layout.data_table(cohorts, {
        "annee": ("Année de début", "texte"), "accompagnements": ("Accompagnements", "nombre"),
        "structures": ("Structures", "nombre"), "part_clos": ("Clos", "part"), "heures_moyennes": ("Heures moyennes", "decimal"),
        "objectifs_fin": ("Objectifs atteints à la fin (%)", "decimal"),
        "mesures_12_mois": ("Mesures à 12 mois", "nombre"), "part_active_12_mois": ("Actives à 12 mois", "part")},
        name="cohortes")
with right:
    formats = bundle["formats"]
    layout.chart_of_visible(formats.assign(secret=formats["accompagnements"].isna()), lambda rows: charts.bars(
        rows, "libelle", "accompagnements", "Accompagnements longs et appuis courts", where,
        axis_title="Accompagnements", color=charts.OKABE_ITO[4]), key="formats", marks=True)
    layout.data_table(formats, {
        "libelle": ("Format", "texte"), "accompagnements": ("Accompagnements", "nombre"),
        "structures": ("Structures", "nombre"), "heures_moyennes": ("Heures moyennes", "decimal"),
        "duree_mediane_jours": ("Durée médiane (jours)", "decimal"),
        "objectifs_fin": ("Objectifs atteints à la fin (%)", "decimal"), "satisfaction_fin": ("Satisfaction", "decimal")})

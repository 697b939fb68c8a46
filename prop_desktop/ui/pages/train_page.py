"""Step 4 — Train: teach the arm your recordings (on this computer), then see the privacy report and choose
how strongly it follows you."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
)

from prop_desktop.services.skill import SkillSummary
from prop_desktop.ui.messages import show_error, user_message
from prop_desktop.ui.pages.base import Page, Window
from prop_desktop.ui.settings import TRAINING_EFFORT
from prop_desktop.ui.widgets.joint_plot import LossPlot
from prop_desktop.ui.widgets.privacy_plots import PrivacyPlots
from prop_desktop.ui.worker import run_in_background

if TYPE_CHECKING:
    from collections.abc import Callable

    from prop_desktop.services.models import (
        AlphaMetrics,
        EpisodeInfo,
        PrivacyReport,
        ProfileInfo,
        TrainingProgress,
        TrainingResult,
    )
    from prop_desktop.services.training_job import TrainingJob

# Loss terms the engine reports, in plain words; anything not listed (stage counters, gate checks) is not
# a curve a person needs to watch.
LOSS_LABELS = {
    "loss": "overall",
    "total": "overall",
    "personal": "matching your recordings",
    "wrong_keys": "other keys stay general",
    "fidelity": "other keys stay general",
    "retain": "general skills kept",
}


def format_eta(seconds: float | None) -> str:
    """An upper bound, said as one: the engine stops early once your recordings are learnt (a run estimated
    at 36 s left at 14 % ended at 23 s), never later than its time budget."""
    if seconds is None:
        return "estimating time left…"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"at most {seconds} s left"
    return f"at most {seconds // 60} min {seconds % 60:02d} s left"


class TrainPage(Page):
    title = "Teach it your way"
    hint = ("The arm learns your recordings on this computer. The result — your personal skill — works only "
            "with your key.")

    def __init__(self, window: Window) -> None:
        super().__init__(window)
        self.job: TrainingJob | None = None
        self.result: TrainingResult | None = None
        self._progress: TrainingProgress | None = None  # the latest, written by the training thread
        self._loss_points: list[tuple[int, dict[str, float]]] = []
        self._lock = threading.Lock()
        self._job_disconnects: list[Callable[[], None]] = []
        self._loss_history: list[tuple[int, dict[str, float]]] = []  # the running job's whole curve
        self._skill_for: str | None = None  # the profile whose stored skill the report and slider show
        self._skill: SkillSummary | None = None
        self._alpha_pending: float | None = None
        self._alpha_busy = False

        top = QHBoxLayout()
        self.outer.addLayout(top, 2)
        pick = QGroupBox("Which recordings to learn from")
        pl = QVBoxLayout(pick)
        self.episode_list = QListWidget()
        self.episode_list.setObjectName("trainEpisodes")
        self.episode_list.itemChanged.connect(lambda _i: self._update_controls())
        pl.addWidget(self.episode_list, 1)
        self.selection_label = QLabel()
        self.selection_label.setObjectName("muted")
        pl.addWidget(self.selection_label)
        self.skill_label = QLabel("")
        self.skill_label.setObjectName("skillLabel")
        self.skill_label.setWordWrap(True)
        pl.addWidget(self.skill_label)
        top.addWidget(pick, 1)

        run = QGroupBox("Training")
        rl = QVBoxLayout(run)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training  (Ctrl+Enter)")
        self.start_button.setObjectName("startTraining")
        self.start_button.setProperty("primary", True)
        self.start_button.setMinimumHeight(40)
        self.start_button.clicked.connect(self.start_training)
        buttons.addWidget(self.start_button, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelTraining")
        self.cancel_button.setMinimumHeight(40)
        self.cancel_button.clicked.connect(self.cancel_training)
        buttons.addWidget(self.cancel_button)
        rl.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        rl.addWidget(self.progress)
        self.eta_label = QLabel("")
        self.eta_label.setObjectName("etaLabel")
        rl.addWidget(self.eta_label)
        self.loss_plot = LossPlot()
        rl.addWidget(self.loss_plot, 1)
        top.addWidget(run, 2)

        self.report_box = QGroupBox("Privacy report: who gets your way?")
        self.report_box.setObjectName("reportBox")
        rep = QVBoxLayout(self.report_box)
        self.verdict = QLabel("Train to see how your personal skill reacts to your key and to everyone else's.")
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        rep.addWidget(self.verdict)
        self.privacy_plots = PrivacyPlots()
        rep.addWidget(self.privacy_plots, 1)
        alpha_row = QHBoxLayout()
        alpha_row.addWidget(QLabel("The general way"))
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal)
        self.alpha_slider.setObjectName("alphaSlider")
        self.alpha_slider.setRange(0, 100)
        self.alpha_slider.setValue(100)
        self.alpha_slider.setToolTip("How strongly the arm follows your recordings versus its general training")
        self.alpha_slider.valueChanged.connect(self._alpha_moved)
        alpha_row.addWidget(self.alpha_slider, 1)
        alpha_row.addWidget(QLabel("Follow my recordings"))
        self.apply_alpha_button = QPushButton("Use this balance")
        self.apply_alpha_button.setObjectName("applyAlpha")
        self.apply_alpha_button.clicked.connect(self.apply_alpha)
        alpha_row.addWidget(self.apply_alpha_button)
        rep.addLayout(alpha_row)
        self.alpha_metrics = QLabel("")
        self.alpha_metrics.setObjectName("alphaMetrics")
        self.alpha_metrics.setWordWrap(True)
        rep.addWidget(self.alpha_metrics)
        self.outer.addWidget(self.report_box, 3)

        self.ui_timer = QTimer(self)
        self.ui_timer.setInterval(100)
        self.ui_timer.timeout.connect(self._poll_progress)
        self.alpha_timer = QTimer(self)
        self.alpha_timer.setSingleShot(True)
        self.alpha_timer.setInterval(60)
        self.alpha_timer.timeout.connect(self._evaluate_alpha)
        self._set_report_enabled(False)
        window.episodes_loaded.connect(self._episodes_loaded)
        self._update_controls()

    # --- the active person ---------------------------------------------------------------------------------
    # The page owns no per-profile state: what it shows about a person's skill (report, α) is read back from
    # the sealed adapter each time that person becomes active. A training job belongs to the profile that
    # started it and keeps running across a switch (one job at a time on this computer).
    def profile_changed(self, profile: ProfileInfo | None) -> None:
        self._clear_skill_view()
        self.episode_list.clear()
        self._skill_for = None
        self._skill = None
        if self.job is not None and profile is not None and self.job.profile_id == profile.id:
            self._redraw_job()
        if self.isVisible():
            self._show_skill(profile)
        self._update_controls()

    def _clear_skill_view(self) -> None:
        self.loss_plot.clear()
        self.progress.setValue(0)
        self.eta_label.setText("")
        self.verdict.setText("Train to see how your personal skill reacts to your key and to everyone else's.")
        self.privacy_plots.clear()
        self.alpha_metrics.setText("")
        self._set_report_enabled(False)

    def _redraw_job(self) -> None:
        """Back on the person whose training is running: their curve so far, then live again."""
        with self._lock:
            history = list(self._loss_history)
        for step, losses in history:
            self.loss_plot.add_point(step, {LOSS_LABELS[k]: v for k, v in losses.items() if k in LOSS_LABELS})
        self._poll_progress()

    def _show_skill(self, profile: ProfileInfo | None) -> None:
        """This person's current personal skill, with its privacy report and α (read off the GUI thread: it
        unseals metadata, so only when the page is shown, and never to ask a passphrase just for this)."""
        self.skill_label.setText("")
        self._skill_for = None if profile is None else profile.id
        if profile is None:
            return
        if not profile.has_adapter:
            self.skill_label.setText("No personal skill yet: train to make one.")
            return
        if profile.has_passphrase and not profile.unlocked:
            self.skill_label.setText("A personal skill is trained (locked by the passphrase until it is used).")
            return
        profile_id = profile.id
        skills = self.app.training.skills

        def done(skill: SkillSummary | None) -> None:
            active = self.window_.active_profile
            if active is None or active.id != profile_id:
                return
            self._skill = skill
            if skill is None:
                self.skill_label.setText("No personal skill yet: train to make one.")
                return
            when = skill.trained[:16].replace("T", " ")
            n = len(skill.episodes)
            self.skill_label.setText(
                f"Current personal skill: trained {when} from {n} recording{'s' if n != 1 else ''}"
                + f", follows you at {skill.alpha:.2f}.")
            if self._is_training_here():
                return  # the running job's own progress and report take the space
            self._show_stored_skill(skill)

        run_in_background(self.bridge, lambda: skills.get(profile_id), done, lambda _e: None, name="skill-info")

    def _show_stored_skill(self, skill: SkillSummary) -> None:
        if skill.report is not None:
            self.show_report(skill.report)
        if skill.curve:
            alpha = skill.alpha
            self.alpha_slider.blockSignals(True)
            self.alpha_slider.setValue(int(round(alpha * 100)))
            self.alpha_slider.blockSignals(False)
            self._set_report_enabled(True)
            self._alpha_pending = alpha
            self._evaluate_alpha()

    def page_shown(self) -> None:
        self.refresh_episodes()
        active = self.window_.active_profile
        if active is not None and getattr(self, "_skill_for", None) != active.id:
            self._show_skill(active)

    def refresh_episodes(self) -> None:
        self.window_.refresh_episodes()

    def _episodes_loaded(self, episodes: list[EpisodeInfo], _error: BaseException | None) -> None:
        checked = {self.episode_list.item(i).data(Qt.ItemDataRole.UserRole)
                   for i in range(self.episode_list.count())
                   if self.episode_list.item(i).checkState() == Qt.CheckState.Checked}
        known = {self.episode_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.episode_list.count())}
        self.episode_list.blockSignals(True)
        self.episode_list.clear()
        for ep in episodes:
            item = QListWidgetItem(f"{ep.name}  —  {ep.task}, {ep.duration_s:.1f} s"
                                   + ("  ⚠ ended early" if ep.fault or ep.interrupted else ""))
            item.setData(Qt.ItemDataRole.UserRole, ep.id)
            item.setToolTip(f"{ep.name}: {ep.samples} samples, {ep.duration_s:.1f} s, "
                            f"{'clicked' if ep.mode == 'click' else 'by hand'}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = ep.id in checked or ep.id not in known  # new recordings start ticked
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.episode_list.addItem(item)
        self.episode_list.blockSignals(False)
        self._update_controls()

    def checked_episode_ids(self) -> list[str]:
        return [self.episode_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.episode_list.count())
                if self.episode_list.item(i).checkState() == Qt.CheckState.Checked]

    # --- training ----------------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """A job this page started is still running (for whichever profile started it)."""
        return self.job is not None

    def _is_training_here(self) -> bool:
        active = self._active()
        return self.job is not None and active is not None and self.job.profile_id == active.id

    def shortcut_start(self) -> None:
        if not self.training:
            self.start_training()

    def start_training(self) -> None:
        ids = self.checked_episode_ids()
        if not ids:
            self.banner.show_message("Tick at least one recording to learn from.", "warning")
            return
        self.banner.hide()
        effort = TRAINING_EFFORT.get(self.window_.settings.training)
        try:
            if effort is None:
                job = self.app.training.start(ids)
            else:
                job = self.app.training.start(ids, max_steps=effort[0], max_seconds=effort[1])
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self._forget_job()
        self.job = job
        self.result = None
        self._progress = None
        with self._lock:
            self._loss_points = []
            self._loss_history = []
        self._clear_skill_view()
        self.eta_label.setText("Getting ready…")
        self._job_disconnects = [
            job.progress.connect(self._on_progress_worker),
            job.finished.connect(self.bridge.wrap(self._on_finished)),
        ]
        self.ui_timer.start()
        self._update_controls()

    def _forget_job(self) -> None:
        for d in self._job_disconnects:
            d()
        self._job_disconnects = []

    # Training thread: store, never touch widgets.
    def _on_progress_worker(self, progress: TrainingProgress) -> None:
        self._progress = progress
        if progress.losses:
            with self._lock:
                point = (progress.step, dict(progress.losses))
                self._loss_points.append(point)
                self._loss_history.append(point)

    def _poll_progress(self) -> None:
        p = self._progress
        with self._lock:
            points, self._loss_points = self._loss_points, []
        if not self._is_training_here():
            return  # another person's training: only its end matters on this page
        for step, losses in points:
            self.loss_plot.add_point(step, {LOSS_LABELS[k]: v for k, v in losses.items() if k in LOSS_LABELS})
        if p is None:
            return
        self.progress.setValue(int(p.fraction * 1000))
        state = getattr(p.state, "value", str(p.state))
        if self.job is not None and self.job.cancelling:
            self.eta_label.setText("Cancelling…")
        elif state == "evaluating":
            self.eta_label.setText("Checking privacy: trying your key, no key, random and almost-right keys…")
        elif state == "preparing":
            self.eta_label.setText(p.message or "Getting ready…")
        else:
            self.eta_label.setText(f"Step {p.step} of {p.total_steps} · {format_eta(p.eta_s)}")

    def cancel_training(self) -> None:
        if not self._is_training_here():
            return
        self.eta_label.setText("Cancelling…")
        self.cancel_button.setEnabled(False)
        job = self.job
        assert job is not None  # _is_training_here() said so
        threading.Thread(target=job.cancel, name="cancel-training", daemon=True).start()

    def _on_finished(self, result: TrainingResult) -> None:
        job = self.job
        if job is None:
            return
        here = self._is_training_here()
        self._poll_progress()
        self.ui_timer.stop()
        self._forget_job()
        self.job = None
        self.result = result
        state = getattr(result.state, "value", str(result.state))
        if not here:
            pass  # finished for someone who is not at the computer now: they see it when they come back
        elif state == "cancelled":
            self.eta_label.setText("Cancelled. Your previous personal skill is unchanged.")
            self.banner.show_message("Training was cancelled. Your previous personal skill is unchanged.", "info")
        elif not result.ok:
            self.eta_label.setText("Training did not finish.")
            show_error(self, "Training failed", result.message)
        else:
            self.progress.setValue(1000)
            self.eta_label.setText(f"Done in {result.train_seconds:.0f} s. Your personal skill is saved, locked "
                                   "with your key.")
            if result.report is not None:
                self.show_report(result.report)
            if result.alpha is not None:
                self.alpha_slider.blockSignals(True)
                self.alpha_slider.setValue(int(round(result.alpha * 100)))
                self.alpha_slider.blockSignals(False)
            if result.alpha_metrics is not None:
                self._show_alpha(result.alpha_metrics)
            self._skill_for = job.profile_id
            self._set_report_enabled(True)
            n = len(result.episodes_used)
            self.skill_label.setText(f"Current personal skill: trained just now from {n} recording"
                                     f"{'s' if n != 1 else ''}.")
        self.window_.refresh_profiles()
        self._update_controls()

    # --- report and merge α ------------------------------------------------------------------------------
    def show_report(self, report: PrivacyReport) -> None:
        self.verdict.setText(report.verdict)
        self.privacy_plots.show_report(report)

    def _set_report_enabled(self, on: bool) -> None:
        self.alpha_slider.setEnabled(on)
        self.apply_alpha_button.setEnabled(on)

    def _alpha_moved(self, value: int) -> None:
        self._alpha_pending = value / 100.0
        self.alpha_timer.start()

    def _evaluate_alpha(self) -> None:
        profile_id = self._skill_for
        if self._alpha_busy or self._alpha_pending is None or profile_id is None:
            return
        alpha, self._alpha_pending = self._alpha_pending, None
        self._alpha_busy = True

        def done(metrics: AlphaMetrics) -> None:
            self._alpha_busy = False
            self._show_alpha(metrics)
            if self._alpha_pending is not None:
                self._evaluate_alpha()

        def failed(exc: BaseException) -> None:
            self._alpha_busy = False
            self.alpha_metrics.setText(user_message(exc))

        skills = self.app.training.skills
        run_in_background(self.bridge, lambda: skills.evaluate_alpha(alpha, profile_id), done, failed, name="alpha")

    def _show_alpha(self, m: AlphaMetrics) -> None:
        self.alpha_metrics.setText(
            f"At {m.alpha:.2f}: follows your recordings {m.personalization_score * 100:.0f}% "
            f"(error {m.personalization_error:.3f}) · tasks you did not show differ from the general way by "
            f"{m.retention_error:.3f} · "
            f"wrong keys stay general (worst error {m.wrong_key_error:.3f})."
        )

    def apply_alpha(self) -> None:
        profile_id = self._skill_for
        if profile_id is None:
            return
        alpha = self.alpha_slider.value() / 100.0
        skills = self.app.training.skills

        def done(m: AlphaMetrics) -> None:
            self._show_alpha(m)
            self.banner.show_message(f"Saved: the arm now follows your recordings at {alpha:.2f}.", "success")

        run_in_background(self.bridge, lambda: skills.apply_alpha(alpha, profile_id), done,
                          lambda e: show_error(self, "Not saved", e), name="apply-alpha")

    # --- state -------------------------------------------------------------------------------------------
    def _update_controls(self) -> None:
        n = len(self.checked_episode_ids())
        total = self.episode_list.count()
        active = self._active()
        elsewhere = self.training and not self._is_training_here()
        if active is None:
            text = "Create or pick a profile first (step 2)."
        elif elsewhere:
            text = (f"{self._job_owner_name()} is training now; you can start yours when it has finished "
                    "(one training at a time on this computer).")
        elif total == 0:
            text = "No recordings yet: record a few on the Record page (step 3), then train."
        else:
            text = f"{n} of {total} recordings ticked." + ("" if n else " Tick at least one to train.")
        self.selection_label.setText(text)
        self.start_button.setEnabled(active is not None and n > 0 and not self.training)
        self.cancel_button.setEnabled(self.job is not None and self._is_training_here() and not self.job.cancelling)
        self.episode_list.setEnabled(not self._is_training_here())

    def _job_owner_name(self) -> str:
        owner = self.job.profile_id if self.job is not None else None
        for p in self.window_.profiles:
            if p.id == owner:
                return str(p.name)
        return "someone else"

    def _active(self) -> ProfileInfo | None:
        return self.window_.active_profile

    def is_moving(self) -> str | None:
        return None

    def unfinished_work(self) -> str | None:
        if self.job is None:
            return None
        return f"training {self._job_owner_name()}'s personal skill"

    def shutdown(self) -> None:
        self.ui_timer.stop()
        if self.training and self.job is not None:
            self.job.cancel()
        self._forget_job()


__all__ = ["TrainPage", "format_eta"]
